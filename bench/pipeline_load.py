#!/usr/bin/env python3
"""Preloads tallyd's event log for bench/pipeline.sh.

Sends N realistic server-API events (~300 bytes, 3-5 properties, USERS
distinct users) as POST /server/v4/batch requests of BATCH events, over a
few keep-alive connections to 127.0.0.1 only. DUP_PCT % of the N events
are resends of an event_id sent earlier (same body), at random positions
spread through the stream; the original is always at least CONNECTIONS
batches earlier, so it reaches the log first even with requests in flight
on every connection. Every request must answer 200 with accepted == its
size and rejected == 0, else this exits 1.

Deterministic for a given SEED (apart from timestamps, which are the last
24 h before now so the pipeline's 30-day horizon accepts them).

Prints one JSON line: events, unique, resent, batches, bytes, avg event
size, seconds, events/s.
"""
import argparse
import http.client
import json
import queue
import random
import sys
import threading
import time

NAMES = ["page_view", "button_click", "add_to_cart", "search", "signup_started",
         "order_placed", "video_played", "app_opened", "item_viewed", "checkout_started"]
PATHS = ["/", "/pricing", "/docs/getting-started/installation", "/blog/group-commit-explained",
         "/checkout/payment", "/product/trail-running-shoes-sku-10492",
         "/search?q=running+shoes&sort=price", "/account/settings/notifications"]
PLANS = ["free", "pro", "team", "enterprise"]
PLATFORMS = ["android", "ios", "web", "desktop"]
CURRENCIES = ["INR", "USD", "EUR", "GBP"]
VERSIONS = ["5.12.0", "5.12.1", "5.13.0-beta.2", "6.0.3"]
TITLES = ["Trail running shoes for rough terrain | Example Store",
          "Pricing plans for teams of every size - Example", "Your order is on its way",
          "Getting started: install the SDK in five minutes"]
CAMPAIGNS = ["diwali-sale-2026", "black-friday-early-access", "winback-30d", "onboarding-day-3"]


def prop_pool(rnd):
    """Property generators: each gives one or two keys (strings, numbers, bools)."""
    r = rnd.random

    def pick(seq):
        return seq[int(r() * len(seq))]

    def num(lo, hi):
        return lo + int(r() * (hi - lo + 1))

    return [
        (1, lambda: '"path":"%s"' % pick(PATHS)),
        (1, lambda: '"referrer":"https://www.example.com/search?q=tally+event+pipeline&page=%d'
         '&utm_source=newsletter&utm_medium=email"' % num(1, 9)),
        (1, lambda: '"plan":"%s"' % pick(PLANS)),
        (1, lambda: '"duration_ms":%d' % num(1, 60000)),
        (2, lambda: '"amount":%d.%02d,"currency":"%s"' % (num(1, 9999), num(0, 99),
                                                         pick(CURRENCIES))),
        (2, lambda: '"platform":"%s","app_version":"%s"' % (pick(PLATFORMS), pick(VERSIONS))),
        (2, lambda: '"campaign":"%s","variant":"%s"' % (pick(CAMPAIGNS), pick("ab"))),
        (2, lambda: '"quantity":%d,"in_stock":%s' % (num(1, 12), pick(["true", "false"]))),
        (1, lambda: '"session_id":"sess_%024x"' % rnd.getrandbits(96)),
        (1, lambda: '"page_title":"%s"' % pick(TITLES)),
    ]


class Props:
    """3-5 properties per event, from the pool in one of 256 fixed random orders."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.pool = prop_pool(rnd)
        idx = list(range(len(self.pool)))
        self.orders = []
        for _ in range(256):
            rnd.shuffle(idx)
            self.orders.append([self.pool[i] for i in idx])

    def __call__(self):
        r = self.rnd.random
        want = 3 + int(r() * 3)
        parts, keys = [], 0
        for k, g in self.orders[int(r() * 256)]:
            if keys + k > want:
                continue
            parts.append(g())
            keys += k
            if keys == want:
                break
        return "{" + ",".join(parts) + "}"


def uuid4(rnd):
    h = "%032x" % rnd.getrandbits(128)
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3], h[17:20],
                                   h[20:])


class Clock:
    """ISO-8601 UTC with milliseconds for a time within the last day."""

    def __init__(self, now_ms):
        self.now_ms = now_ms
        self.cache = {}

    def __call__(self, ms):
        sec = ms // 1000
        s = self.cache.get(sec)
        if s is None:
            s = self.cache[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return "%s.%03dZ" % (s, ms % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--key", required=True, help="write key")
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--dup-pct", type=float, default=5.0)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20260314)
    a = ap.parse_args()

    host_port = a.url.split("://", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    if host != "127.0.0.1":
        sys.exit("pipeline_load.py: only 127.0.0.1 is allowed")
    if not 1 <= a.batch <= 500:
        sys.exit("pipeline_load.py: --batch must be 1..500")
    n, bsz = a.events, a.batch
    nbatches = (n + bsz - 1) // bsz
    conns = max(1, min(a.connections, 16))
    if nbatches < 4 * conns:
        conns = 1  # tiny runs: keep the original strictly before its resend
    rnd = random.Random(a.seed)

    # Positions of the resends: any position whose batch is at least `conns`
    # batches after the first one (so an original exists `conns` batches back).
    first_ok = conns * bsz if conns > 1 else 1
    ndup = int(round(n * a.dup_pct / 100.0))
    ndup = max(0, min(ndup, n - first_ok))
    dup_pos = set(rnd.sample(range(first_ok, n), ndup)) if ndup else set()

    errors = []
    q = queue.Queue(maxsize=conns * 2)
    stats = {"bytes": 0, "ok": 0}
    lock = threading.Lock()
    # Batch b is sent only once batches 0..b-conns have been answered, so a
    # resend's original is on disk before the resend arrives.
    answered = [False] * nbatches
    low = [0]  # batches 0..low-1 all answered
    cond = threading.Condition(lock)

    def mark(idx):
        with cond:
            answered[idx] = True
            while low[0] < nbatches and answered[low[0]]:
                low[0] += 1
            cond.notify_all()

    def send(c, hdr, idx, count, body):
        try:
            c.request("POST", "/server/v4/batch", body=body, headers=hdr)
            r = c.getresponse()
            data = r.read()
        except Exception as e:  # connection reset, timeout
            return "batch %d: %s: %s" % (idx, type(e).__name__, e)
        if r.status != 200:
            return "batch %d: HTTP %d: %s" % (idx, r.status, data[:300])
        try:
            js = json.loads(data)
        except ValueError:
            return "batch %d: answer is not JSON: %s" % (idx, data[:300])
        if js.get("accepted") != count or js.get("rejected") != 0:
            return "batch %d: accepted %s rejected %s of %d: %s" % (
                idx, js.get("accepted"), js.get("rejected"), count, data[:300])
        return None

    def worker():
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        hdr = {"X-API-KEY": a.key, "Content-Type": "application/json"}
        while True:
            item = q.get()
            if item is None:
                break
            idx, count, body = item
            with cond:
                while low[0] <= idx - conns and not errors:
                    cond.wait(1.0)
            try:
                if errors:
                    continue
                err = send(c, hdr, idx, count, body)
                if err:
                    errors.append(err)
                else:
                    with lock:
                        stats["ok"] += 1
                        stats["bytes"] += len(body)
            finally:
                mark(idx)
        c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()

    now_ms = int(time.time() * 1000)
    props = Props(rnd)
    clock = Clock(now_ms)
    r = rnd.random
    uniq = []            # bodies of unique events, by order of generation
    uniq_at_batch = []   # len(uniq) when batch b started
    ev_bytes = 0
    window = 200000      # a resend repeats one of the last 200k unique events
    t0 = time.monotonic()
    pos = 0
    for b in range(nbatches):
        uniq_at_batch.append(len(uniq))
        # Originals must be in batches <= b - conns (or earlier in this very
        # batch when there is one connection).
        events = []
        for _ in range(min(bsz, n - pos)):
            if pos in dup_pos:
                hi = uniq_at_batch[b - conns + 1] if conns > 1 else len(uniq)
                lo = max(0, hi - window)
                ev = uniq[rnd.randrange(lo, hi)]
            else:
                ev = ('{"event_id":"%s","event_name":"%s","user_id":"user-%06d",'
                      '"timestamp":"%s","event_properties":%s}' % (
                          uuid4(rnd), NAMES[int(r() * len(NAMES))], int(r() * a.users),
                          clock(now_ms - int(r() * 86400000)), props()))
                uniq.append(ev)
            ev_bytes += len(ev)
            events.append(ev)
            pos += 1
        body = ('{"events":[' + ",".join(events) + "]}").encode()
        q.put((b, len(events), body))
        if errors:
            break
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    secs = time.monotonic() - t0

    if errors:
        for e in errors[:10]:
            print("pipeline_load.py: " + e, file=sys.stderr)
        print("pipeline_load.py: %d request(s) failed; %d of %d batches OK" %
              (len(errors), stats["ok"], nbatches), file=sys.stderr)
        return 1
    if stats["ok"] != nbatches:
        print("pipeline_load.py: only %d of %d batches answered" % (stats["ok"], nbatches),
              file=sys.stderr)
        return 1
    print(json.dumps({
        "events": n, "unique": len(uniq), "resent": n - len(uniq), "batches": nbatches,
        "connections": conns, "body_bytes": stats["bytes"],
        "avg_event_bytes": round(ev_bytes / n, 1) if n else 0,
        "seconds": round(secs, 2), "events_per_second": round(n / secs) if secs > 0 else 0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
