"""Seeded random campaigns and event streams for the campaign tests, the
code that sends them to a real tallyd, and the comparison of tally's
answers with the reference (campaign_reference.py). Shared by
test_campaign_differential.py and test_campaign_crash.py.

Generation is deterministic for a seed and a "now": the campaigns cover
every measure, window, where op and a set of time zones with and without
DST (Asia/Kolkata, Asia/Kathmandu, America/New_York, Europe/Berlin,
Australia/Sydney, UTC); the events cluster around the recent days, the DST
changes of the last year and month boundaries, arrive out of order (late
events into past windows), repeat event_ids (duplicates) and include a few
invalid items. Event times reach up to 390 days back, so the tests widen
the tenant's timestamp horizon to HORIZON_DAYS first. For the segment part
(segment_reference.py): behaviour-condition segments and their campaigns,
anonymous ids aliased to known users mid-stream, moves of the segment clock
(POST /debug/clock) during the stream, and the comparison of members and
users' segments.
"""

import base64
import datetime
import json
import sys
import time
import urllib.parse
from zoneinfo import ZoneInfo

from campaign_reference import iso, parse_iso
from harness import wait_for

HORIZON_DAYS = 400
DAY = 86400000
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Australia/Sydney",
         "Asia/Kathmandu"]
DST_ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney"]
WINDOWS = ["campaign", "day", "week", "month"]
OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "contains"]
NAMES = ["order_placed", "app_opened", "restaurant_visit", "review_written", "page_view"]
NAME_WEIGHTS = [40, 30, 15, 10, 5]  # page_view: named by no campaign

# Where templates per op: (path, value generator).
WHERE = {
    "eq": [("city", lambda r: "BLR"), ("tier", lambda r: 1), ("tier", lambda r: "1"),
           ("order.payment.method", lambda r: "upi"), ("platform", lambda r: "ios")],
    "ne": [("platform", lambda r: "web"), ("city", lambda r: "BOM"), ("tier", lambda r: 1)],
    "gt": [("amount", lambda r: r.randint(50, 300)), ("order.items", lambda r: 2),
           ("stars", lambda r: 3)],
    "gte": [("amount", lambda r: r.randint(50, 300)), ("stars", lambda r: 4)],
    "lt": [("amount", lambda r: r.randint(200, 450)), ("stars", lambda r: 3.5)],
    "lte": [("amount", lambda r: r.randint(200, 450)), ("order.items", lambda r: 3)],
    "in": [("city", lambda r: ["BLR", "DEL"]), ("tier", lambda r: [1, "gold"]),
           ("restaurant", lambda r: ["r1", "r2", 3])],
    "nin": [("city", lambda r: ["BOM"]), ("platform", lambda r: ["web", "desktop"])],
    "exists": [("restaurant", lambda r: True), ("coupon", lambda r: False),
               ("order.payment", lambda r: True)],
    "contains": [("city", lambda r: "L"), ("restaurant", lambda r: "r1"),
                 ("note", lambda r: "fast")],
}
SUM_PROPS = ["amount", "amount", "order.items", "stars"]
DISTINCT_PROPS = ["restaurant", "city", "tier"]
# (count, sum of amount, distinct) target ranges per window.
TARGETS = {"campaign": ((4, 15), (800, 4000), (3, 6)), "day": ((1, 3), (150, 500), (2, 3)),
           "week": ((2, 6), (300, 1500), (2, 4)), "month": ((3, 10), (500, 3000), (3, 6))}


def ms_now():
    return int(time.time() * 1000)


def dst_changes(now, days=390):
    """Instants (ms, to the day) of the DST changes of DST_ZONES in the last `days`."""
    out = []
    for name in DST_ZONES:
        tz = ZoneInfo(name)
        prev = None
        for k in range(days, 1, -1):
            t = now - k * DAY
            off = (datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) +
                   datetime.timedelta(milliseconds=t)).astimezone(tz).utcoffset()
            if prev is not None and off != prev:
                out.append((name, t))
            prev = off
    return out


def month_starts(now, days=390):
    d = (datetime.datetime.fromtimestamp(now / 1000, datetime.timezone.utc) -
         datetime.timedelta(days=days)).date().replace(day=1)
    out = []
    while True:
        d = (d + datetime.timedelta(days=32)).replace(day=1)
        ms = int(datetime.datetime(d.year, d.month, 1, tzinfo=datetime.timezone.utc)
                 .timestamp() * 1000)
        if ms > now - DAY:
            return out
        out.append(ms)


# ------------------------------------------------------------ campaigns ---

def make_campaigns(rng, now, accept=(1, 9, 17)):
    """24 active campaigns (every window in every zone of ZONES) plus a
    paused and a draft one. Returns the definitions."""
    dst = dst_changes(now)
    ops = []
    defs = []
    for i in range(24):
        window, tz = WINDOWS[i // 6], ZONES[i % 6]
        nact = rng.choice([1, 1, 2, 2, 3])
        acts = []
        for k in range(nact):
            measures = ["count", "sum", "distinct"] + (["streak"] * 2 if window == "campaign"
                                                      else [])
            m = rng.choice(measures)
            event = rng.choices(NAMES[:4], [40, 30, 15, 10])[0]
            a = {"id": "a%d" % k, "event": event, "measure": m}
            ct, st, dt = TARGETS[window]
            if m == "count":
                a["target"] = rng.randint(*ct)
            elif m == "sum":
                a["property"] = rng.choice(SUM_PROPS)
                lo, hi = st if a["property"] == "amount" else (st[0] // 60 + 2, st[1] // 60 + 3)
                a["target"] = rng.randint(lo, hi) + rng.choice([0, 0, 0.5])
            elif m == "distinct":
                a["property"] = rng.choice(DISTINCT_PROPS)
                a["target"] = rng.randint(*dt)
            else:
                a["period"] = rng.choice(["day", "day", "week"])
                a["target"] = rng.randint(2, 4) if a["period"] == "day" else rng.randint(2, 3)
            where = []
            for _ in range(rng.choice([0, 1, 1, 2])):
                if not ops:
                    ops = list(OPS)
                    rng.shuffle(ops)
                op = ops.pop()
                path, value = rng.choice(WHERE[op])
                where.append({"path": path, "op": op, "value": value(rng)})
            if where:
                a["where"] = where
            acts.append(a)
        d = {"id": "c%02d-%s-%s" % (i, window, tz.split("/")[-1].lower()),
             "name": "campaign %d" % i, "activities": acts,
             "reward": {"type": "points", "name": "%d coins" % (10 * (i + 1)),
                        "amount": 10 * (i + 1)}}
        if tz != "UTC" or rng.random() < 0.5:
            d["timezone"] = tz
        if window != "campaign" or rng.random() < 0.5:
            d["window"] = window
        if nact > 1 and rng.random() < 0.35:
            d["complete_when"] = "any"
        mc = rng.choice([0, 0, 1, 2, 3, None])
        if mc is not None:
            d["max_completions"] = mc
        if i in accept:
            d["enrollment"] = "accept"
        b = i % 5
        jitter = rng.randint(0, DAY - 1)
        if b == 1:
            d["starts_at"] = iso(now - 15 * DAY + jitter)
        elif b == 2:
            d["ends_at"] = iso(now - 4 * DAY + jitter)
        elif b == 3 and dst:
            center = rng.choice(dst)[1]
            d["starts_at"] = iso(center - 3 * DAY + jitter)
            d["ends_at"] = iso(now - 2 * DAY + jitter)
        elif b == 4:
            d["starts_at"] = iso(now - 200 * DAY + jitter)
        defs.append(d)
    used = {w["op"] for d in defs for a in d["activities"] for w in a.get("where", [])}
    assert used == set(OPS), "generator: ops not covered: %s" % (set(OPS) - used)
    for status in ("paused", "draft"):
        defs.append({"id": "z-" + status, "name": status, "status": status,
                     "activities": [{"id": "any", "event": "order_placed", "measure": "count",
                                     "target": 1}],
                     "reward": {"type": "points", "name": "never", "amount": 1}})
    return defs


# ------------------------------------------------------------ segments ---

# A static segment and two attribute segments.
SEGMENTS = [
    {"id": "vip", "name": "VIP", "type": "static"},
    {"id": "gold", "name": "Gold plan", "type": "event",
     "conditions": [{"path": "plan", "op": "eq", "value": "gold"}]},
    {"id": "in-or-40", "name": "India or 40+", "type": "event", "match": "any",
     "conditions": [{"path": "country", "op": "in", "value": ["IN", "NP"]},
                    {"path": "age", "op": "gte", "value": 40}]},
]


# Behaviour-condition segments (segment_reference.py): count and sum, with
# and without `within`, match all and any, every compare op, some mixed with
# attribute conditions on the traits identify calls set. The windows (2 h to
# 7 d) hold part of the stream's recent events; CLOCK_STEP later, the sweep
# makes the members of the short ones leave (and those of `lt`/`lte`
# conditions enter).
BEHAVIOUR_SEGMENTS = [
    {"id": "b-orders-7d", "name": "3 orders in 7 days", "type": "event",
     "conditions": [{"event": "order_placed", "measure": "count", "op": "gte", "value": 3,
                     "within": "7d"}]},
    {"id": "b-spend-1d", "name": "Mobile spend today", "type": "event", "match": "all",
     "conditions": [{"event": "order_placed", "measure": "sum", "property": "amount",
                     "where": [{"path": "platform", "op": "in", "value": ["android", "ios"]}],
                     "op": "gt", "value": 400, "within": "1d"}]},
    {"id": "b-active-any", "name": "Active", "type": "event", "match": "any",
     "conditions": [{"event": "app_opened", "measure": "count", "op": "gte", "value": 6,
                     "within": "3d"},
                    {"event": "review_written", "measure": "count", "op": "gte", "value": 1,
                     "within": "2h"}]},
    {"id": "b-gold-visits", "name": "Gold visitors", "type": "event",
     "conditions": [{"path": "plan", "op": "eq", "value": "gold"},
                    {"event": "restaurant_visit", "measure": "count", "op": "gte",
                     "value": 2}]},
    {"id": "b-quiet", "name": "Viewers who stopped opening", "type": "event",
     "conditions": [{"event": "page_view", "measure": "count", "op": "gte", "value": 1},
                    {"event": "app_opened", "measure": "count", "op": "lt", "value": 2,
                     "within": "1d"}]},
    {"id": "b-few-stars", "name": "Few stars or 60+", "type": "event", "match": "any",
     "conditions": [{"path": "age", "op": "gte", "value": 60},
                    {"event": "review_written", "measure": "sum", "property": "stars",
                     "op": "lte", "value": 4, "within": "2d"},
                    {"event": "app_opened", "measure": "count", "op": "ne", "value": 0,
                     "where": [{"path": "platform", "op": "eq", "value": "web"}],
                     "within": "6h"}]},
    {"id": "b-two-visits", "name": "Exactly two visits in 12 h, not US", "type": "event",
     "conditions": [{"event": "restaurant_visit", "measure": "count", "op": "eq", "value": 2,
                     "within": "12h"},
                    {"path": "country", "op": "ne", "value": "US"}]},
    # An empty history meets it, but only users it was judged for (an
    # order kept in the window) can be members: they enter when it leaves.
    {"id": "b-lapsed", "name": "No order for a day", "type": "event",
     "conditions": [{"event": "order_placed", "measure": "count", "op": "lt", "value": 1,
                     "within": "1d"}]},
]
CLOCK_STEP = 26 * 3600000  # how far the segment clock moves after the first check


def make_behaviour_campaigns(rng):
    """Campaigns restricted to BEHAVIOUR_SEGMENTS, with and without
    count_before_entry."""
    shapes = [("b-orders-7d", "campaign", "order_placed", "count", 2, False),
              ("b-spend-1d", "day", "order_placed", "sum", 450, True),
              ("b-active-any", "week", "app_opened", "count", 3, False),
              ("b-gold-visits", "campaign", "restaurant_visit", "distinct", 3, True),
              ("b-quiet", "campaign", "review_written", "count", 1, False),
              ("b-two-visits", "month", "restaurant_visit", "count", 2, True)]
    defs = []
    for i, (seg, window, event, m, target, before) in enumerate(shapes):
        a = {"id": "a0", "event": event, "measure": m, "target": target}
        if m in ("sum", "distinct"):
            a["property"] = "amount" if m == "sum" else "restaurant"
        d = {"id": "t%d-%s" % (i, seg), "name": "behaviour campaign %d" % i, "segment": seg,
             "activities": [a], "window": window, "max_completions": rng.choice([0, 1, 2]),
             "reward": {"type": "points", "name": "%d stars" % (i + 1), "amount": i + 1}}
        if before:
            d["count_before_entry"] = True
        defs.append(d)
    return defs


def add_aliases(rng, stream, now, members, share=20):
    """Anonymous ids (anon-NNNN), one in `share` users: each gets events of
    the stream before its alias (and an identify call; half of them are
    static members too, given to `members`), then an alias to a known user
    (Segment `alias`, a request of its own) at a random point, and a few
    events of the stream after it (counted for the known user). Returns
    [(anonymous id, known user, alias index)]."""
    n = len(stream.users)
    out = []
    taken = set()
    items = stream.items
    for k in range(max(8, n // share)):
        anon = "anon-%04d" % k
        known = stream.users[int(n * rng.random() ** 1.5)]
        at = rng.randrange(len(items) * 3 // 10, len(items) * 9 // 10)

        def grab(lo, hi, count):
            got = 0
            for _ in range(count * 4):
                i = rng.randrange(lo, hi)
                item, info = items[i]
                if i in taken or info is None or info.get("resend"):
                    continue
                taken.add(i)
                items[i] = (dict(item, user_id=anon), info)
                got += 1
                if got == count:
                    break
            return got

        # Early and recent: the windows of the behaviour segments see some.
        if not grab(max(0, at - len(items) // 5), at, rng.randint(6, 30)):
            continue
        grab(at + 1, len(items), rng.randint(1, 8))
        ms = now - rng.randint(60000, 12 * DAY)
        stream.actions.setdefault(rng.randrange(0, at), []).append(("identify", [(
            {"type": "identify", "userId": anon, "messageId": "idf-anon-%04d" % k,
             "timestamp": iso(ms), "traits": {"plan": rng.choice(["gold", "free"]),
                                              "country": rng.choice(["IN", "US"]),
                                              "age": rng.randint(18, 70)}}, ms)]))
        if rng.random() < 0.5:
            members.append(anon)
        ms = now - rng.randint(60000, 3 * DAY)
        stream.actions.setdefault(at, []).append(("alias", {
            "type": "alias", "previousId": anon, "userId": known,
            "messageId": "al-%04d" % k, "timestamp": iso(ms)}, ms))
        out.append((anon, known, at))
    return out


def make_segment_campaigns(rng, now):
    """Campaigns restricted to SEGMENTS, with and without count_before_entry."""
    defs = []
    shapes = [("vip", "week", "count", False), ("vip", "campaign", "sum", True),
              ("gold", "day", "count", False), ("gold", "campaign", "distinct", True),
              ("in-or-40", "campaign", "count", False), ("in-or-40", "week", "sum", True)]
    for i, (seg, window, m, before) in enumerate(shapes):
        ct, st, dt = TARGETS[window]
        a = {"id": "a0", "event": rng.choice(["order_placed", "app_opened"]), "measure": m}
        if m == "count":
            a["target"] = rng.randint(*ct)
        elif m == "sum":
            a["event"], a["property"], a["target"] = "order_placed", "amount", rng.randint(*st)
        else:
            a["property"], a["target"] = "restaurant", rng.randint(*dt)
        d = {"id": "s%d-%s-%s" % (i, seg, window), "name": "segment campaign %d" % i,
             "segment": seg, "activities": [a], "window": window,
             "max_completions": rng.choice([0, 1, 2, 3]),
             "reward": {"type": "points", "name": "%d gems" % (i + 1), "amount": i + 1}}
        if before:
            d["count_before_entry"] = True
        if rng.random() < 0.5:
            d["timezone"] = rng.choice(ZONES)
        defs.append(d)
    return defs


def add_clock_steps(stream, now, start, steps=6):
    """Moves of the segment clock during the stream (actions "clock"),
    from `start` to `now` in `steps` even steps, so that it follows the
    stream's recent events (which advance from 12 days back to now)."""
    n = len(stream.items)
    for k in range(1, steps + 1):
        at = n * k // (steps + 1)
        if k == steps:  # segment changes are counted from here on
            stream.actions.setdefault(at, []).append(("watch",))
        stream.actions.setdefault(at, []).append(("clock", start + (now - start) * k // steps))


def add_profile_updates(rng, stream, now, points=24, per_point=None):
    """Identify calls (Segment tracking API) at `points` places of the stream,
    each a request of its own: traits plan/country/age with event times in
    the last 12 days, so an older update arriving later loses (last write
    wins by time)."""
    n = len(stream.users)
    per_point = per_point or max(4, n // 12)
    k = 0
    for _ in range(points):
        at = rng.randrange(len(stream.items))
        msgs = []
        for _ in range(per_point):
            user = stream.users[int(n * rng.random() ** 1.5)]
            traits = {}
            if rng.random() < 0.7:
                traits["plan"] = rng.choice(["gold", "silver", "gold", "free"])
            if rng.random() < 0.5:
                traits["country"] = rng.choice(["IN", "NP", "US", "DE"])
            if rng.random() < 0.5:
                traits["age"] = rng.randint(18, 70)
            ms = now - rng.randint(60000, 12 * DAY)
            msgs.append(({"type": "identify", "userId": user, "messageId": "idf-%06d" % k,
                          "timestamp": iso(ms), "traits": traits}, ms))
            k += 1
        stream.actions.setdefault(at, []).append(("identify", msgs))


def static_members(rng, stream, share=4):
    """Users for the static segment: one in `share`, mostly active ones."""
    n = len(stream.users)
    return sorted({stream.users[int(n * rng.random() ** 1.5)] for _ in range(n // share)})


def create_segments(api, ref, members, segments=SEGMENTS):
    for sd in segments:
        status, body = api.call("POST", "/v1/segments", sd)
        assert status == 201, "POST /v1/segments %s: %s %s" % (sd["id"], status, body)
    for i in range(0, len(members), 10000):
        lo = ms_now()
        status, body = api.call("POST", "/v1/segments/vip/users",
                                {"user_ids": members[i:i + 10000]})
        assert status == 200, body
        ref.add_members("vip", members[i:i + 10000], (lo, ms_now()))


def set_clock(api, ms):
    """The pipeline's segment clock (the test build's POST /debug/clock)."""
    status, body = api.call("POST", "/debug/clock?now_ms=%d" % ms)
    assert status == 200, "POST /debug/clock: %s %s" % (status, body)


# --------------------------------------------------------------- events ---

def props(rng):
    r = rng.random
    p = {}
    x = r()
    if x < 0.70:
        p["amount"] = rng.randint(1, 500)
    elif x < 0.85:
        p["amount"] = rng.randint(1, 500) + 0.5
    elif x < 0.90:
        p["amount"] = str(rng.randint(1, 500))
    elif x < 0.92:
        p["amount"] = True
    elif x < 0.95:
        p["amount"] = None
    x = r()
    if x < 0.55:
        p["restaurant"] = "r%d" % rng.randint(0, 12)
    elif x < 0.70:
        p["restaurant"] = rng.randint(0, 12)
    elif x < 0.75:
        p["restaurant"] = float(rng.randint(0, 12))
    elif x < 0.85:
        p["restaurant"] = None
    if r() < 0.85:
        p["city"] = rng.choice(["BLR", "DEL", "BOM", "blr", "Bengaluru", "Lucknow"])
    if r() < 0.8:
        p["tier"] = rng.choice(["gold", "silver", 1, 2, 1.0, "1", True])
    if r() < 0.8:
        p["platform"] = rng.choice(["android", "ios", "web", "desktop"])
    if r() < 0.5:
        p["stars"] = rng.choice([1, 2, 3, 3.5, 4, 5])
    x = r()
    if x < 0.6:
        p["order"] = {"items": rng.randint(1, 5),
                      "payment": {"method": rng.choice(["upi", "card", "cod"])}}
    elif x < 0.7:
        p["order"] = {"items": rng.randint(1, 5)}
    elif x < 0.75:
        p["order"] = "n/a"
    if r() < 0.1:
        p["coupon"] = "SAVE%d" % rng.randint(1, 50)
    if r() < 0.2:
        p["note"] = rng.choice(["fast delivery", "slow", "breakfast", "cold"])
    return p


def ts_text(rng, ms):
    """The event time in one of the accepted forms."""
    x = rng.random()
    if x < 0.8:
        return iso(ms)
    if x < 0.9:  # +05:30
        dt = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone(
            datetime.timedelta(hours=5, minutes=30)))
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d+05:30" % (ms % 1000)
    return ms  # epoch milliseconds


class Stream:
    """Items to send, in order, with what the reference needs.

    items: [(item as sent, event for the reference or None when invalid)];
    actions: {item index: [("accept", campaign id, user) | ("status", campaign id,
    status) | ("identify", [(Segment identify message, its time in ms)]) |
    ("alias", Segment alias message, its time in ms) | ("clock", segment clock
    ms) | ("watch",)]}, done before sending that item (the driver ends a batch
    there; add_aliases and add_clock_steps add the last three)."""

    def __init__(self, rng, now, n_events, n_users, accept_ids=(), pause_id=None):
        self.users = ["u%05d" % i for i in range(n_users)]
        self.items = []
        self.actions = {}
        self.invalid = []
        dst = [t for _, t in dst_changes(now)]
        months = month_starts(now)
        sent = []  # valid items, for resends
        recent_span = 12 * DAY
        for n in range(n_events):
            if sent and rng.random() < 0.05:  # a resend: same id
                orig, ms = rng.choice(sent[-5000:])
                item = dict(orig)
                if rng.random() < 0.2:  # the id decides, not the body
                    item["event_properties"] = props(rng)
                self.items.append((item, {"timestamp": ms, "resend": True}))
                continue
            if rng.random() < 0.001:
                self.items.append((self._invalid(rng, n, now), None))
                continue
            x = rng.random()
            if x < 0.55:  # recent, advancing with the stream, jittered
                base = now - recent_span + recent_span * n // n_events
                ms = base + rng.randint(-6 * 3600000, 3600000)
            elif x < 0.72 and dst:
                ms = rng.choice(dst) + rng.randint(-4 * DAY, 4 * DAY)
            elif x < 0.82 and months:
                ms = rng.choice(months) + rng.randint(-2 * DAY, 2 * DAY)
            elif x < 0.92:
                ms = now - rng.randint(0, 390 * DAY)  # late, anywhere
            else:
                ms = now - rng.randint(0, 60 * DAY)
            ms = min(ms, now - 60000)
            user = self.users[int(n_users * rng.random() ** 2.5)]
            name = rng.choices(NAMES, NAME_WEIGHTS)[0]
            item = {"event_id": "ev-%07d" % n, "event_name": name, "user_id": user,
                    "timestamp": ts_text(rng, ms), "event_properties": props(rng)}
            sent.append((item, ms))
            self.items.append((item, {"timestamp": ms}))
        # Acceptances at a few points, for some users, some twice.
        for cid in accept_ids:
            for _ in range(4):
                at = rng.randrange(len(self.items))
                for u in rng.sample(self.users, max(1, n_users // 8)):
                    self.actions.setdefault(at, []).append(("accept", cid, u))
        if pause_id:
            self.actions.setdefault(int(len(self.items) * 0.4), []).append(
                ("status", pause_id, "paused"))
            self.actions.setdefault(int(len(self.items) * 0.6), []).append(
                ("status", pause_id, "active"))

    def _invalid(self, rng, n, now):
        eid = "bad-%07d" % n
        self.invalid.append(eid)
        base = {"event_id": eid, "event_name": "order_placed", "user_id": "u00000",
                "timestamp": iso(now - DAY), "event_properties": {"amount": 100}}
        kind = rng.randrange(4)
        if kind == 0:
            base["timestamp"] = iso(now - (HORIZON_DAYS + 50) * DAY)  # too old
        elif kind == 1:
            base["timestamp"] = iso(now + 3 * DAY)                    # in the future
        elif kind == 2:
            del base["event_name"]
        else:
            base["event_properties"] = "not an object"
        return base


# ------------------------------------------------------------- sending ---

def skip_without_campaigns(d, key):
    """Exits 77 (ctest: skipped) when this tallyd has no campaign API yet."""
    status, _, body = d.request("GET", "/v1/campaigns",
                                headers={"Authorization": "Bearer " + key})
    if status == 404 and b"not_found" in body:
        print("SKIP: this tallyd has no /v1/campaigns (the campaign engine is not built in)")
        d.stop()
        sys.exit(77)


class Api:
    """Keep-alive JSON calls to one daemon with the admin key."""

    def __init__(self, d, admin_key, timeout=60):
        self.d, self.key, self.timeout = d, admin_key, timeout
        self.c = d.conn(timeout)

    def call(self, method, path, body=None):
        hdr = {"Authorization": "Bearer " + self.key, "Content-Type": "application/json"}
        data = json.dumps(body) if body is not None else None
        for attempt in (0, 1):
            try:
                self.c.request(method, path, body=data, headers=hdr)
                r = self.c.getresponse()
                raw = r.read()
                break
            except (ConnectionError, OSError):
                if attempt:
                    raise
                self.c.close()
                self.c = self.d.conn(self.timeout)
        return r.status, (json.loads(raw) if raw else None)

    def close(self):
        self.c.close()


def create_campaigns(api, defs):
    for d in defs:
        status, body = api.call("POST", "/v1/campaigns", d)
        assert status == 201, "POST /v1/campaigns %s: %s %s\n%s" % (
            d["id"], status, body, json.dumps(d))
        assert body["id"] == d["id"]


def set_horizon(api):
    status, body = api.call("PUT", "/v1/settings",
                            {"timestamp_horizon_seconds": HORIZON_DAYS * 86400})
    assert status == 200, body


def send_stream(d, write_key, api, stream, ref, batch=500, defs=None):
    """Sends the stream in order on one connection (so log order is send
    order), doing the actions between batches and feeding the reference."""
    by_id = {x["id"]: x for x in (defs or [])}
    conn = d.conn(timeout=120)
    pending = []  # (item, info)

    def flush():
        if not pending:
            return
        received = ms_now()  # tally's receive time is in [received, received_hi]
        conn.request("POST", "/server/v4/batch",
                     body=json.dumps({"events": [it for it, _ in pending]}),
                     headers={"X-API-KEY": write_key, "Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, body
        received_hi = ms_now()
        for item, info in pending:
            if info is None:
                continue
            ref.apply({"event_id": item["event_id"], "event_name": item["event_name"],
                       "user_id": item["user_id"],
                       "timestamp": info["timestamp"], "received_at": received,
                       "received_hi": received_hi, "properties": item["event_properties"]})
        pending.clear()

    for idx, (item, info) in enumerate(stream.items):
        acts = stream.actions.get(idx)
        if acts:
            flush()
            time.sleep(0.02)  # received_at of what was sent < accepted_at < what follows
            for act in acts:
                if act[0] in ("identify", "alias"):
                    msgs = [m for m, _ in act[1]] if act[0] == "identify" else [act[1]]
                    lo = ms_now()
                    status, _, body = d.request(
                        "POST", "/v1/batch", json.dumps({"batch": msgs}),
                        {"Authorization": "Basic " + base64.b64encode(
                            (write_key + ":").encode()).decode(),
                         "Content-Type": "application/json"})
                    assert status == 200, body
                    hi = ms_now()
                    if act[0] == "alias":
                        m = act[1]
                        ref.alias({"event_id": m["messageId"], "user_id": m["userId"],
                                   "previous_id": m["previousId"], "timestamp": act[2],
                                   "received_at": lo, "received_hi": hi})
                        time.sleep(0.02)  # what follows is received after it
                        continue
                    for m, ms in act[1]:
                        ref.profile({"event_id": m["messageId"], "user_id": m["userId"],
                                     "timestamp": ms, "traits": m["traits"],
                                     "received_at": lo, "received_hi": hi})
                elif act[0] == "watch":
                    watch_segment_changes(d, api, ref)
                elif act[0] == "clock":
                    # The events before are judged at the old clock; the
                    # sweep's changes show before any later event counts.
                    d.wait_processed(timeout=600)
                    lo = ms_now()
                    set_clock(api, act[1])
                    _, changed = ref.set_clock(act[1], lo)
                    wait_segments(api, ref, changed)
                elif act[0] == "accept":
                    _, cid, user = act
                    status, body = api.call(
                        "POST", "/v1/users/%s/campaigns/%s/accept" % (user, cid))
                    assert status == 200, body
                    got = parse_iso(body["accepted_at"])
                    want = ref.accept(cid, user, got)
                    assert got == want, "accept is not idempotent: %s %s: %s then %s" % (
                        cid, user, iso(want), body["accepted_at"])
                else:
                    _, cid, status_ = act
                    d.wait_processed(timeout=600)  # the change applies from here on
                    body = dict(by_id[cid], status=status_)
                    status, answer = api.call("PUT", "/v1/campaigns/" + cid, body)
                    assert status == 200, answer
                    ref.set_status(cid, status_)
            time.sleep(0.02)
        pending.append((item, info))
        if len(pending) == batch:
            flush()
    flush()
    conn.close()


# ----------------------------------------------------------- comparing ---

def _num_eq(a, b):
    return isinstance(a, (int, float)) and not isinstance(a, bool) and abs(a - b) <= 1e-6 * max(
        1.0, abs(b))


def compare_p(want, got, campaign, where, out, reward_ids):
    """Appends to `out` one line per difference between P's."""

    def diff(field, w, g):
        out.append("%s campaign=%s %s: expected %r, got %r" % (where, want["campaign_id"], field,
                                                                 w, g))

    for f in ("campaign_id", "status", "completions", "steps_total", "steps_completed"):
        if got.get(f) != want[f]:
            diff(f, want[f], got.get(f))
    if campaign.window == "campaign":
        bounds = (iso(campaign.starts_at) if campaign.starts_at is not None else None,
                  iso(campaign.ends_at) if campaign.ends_at is not None else None)
        g = (got.get("window_start"), got.get("window_end"))
        g = tuple(parse_iso(x) if x else None for x in g)
        ok = g == (None, None) or g == tuple(parse_iso(x) if x else None for x in bounds)
        if not ok:
            diff("window_start/end", (None, None), g)
    else:
        for f in ("window_start", "window_end"):
            g = got.get(f)
            if g is None or parse_iso(g) != parse_iso(want[f]):
                diff(f, want[f], g)
    wa, ga = want["activities"], got.get("activities") or []
    if [a["id"] for a in wa] != [a.get("id") for a in ga]:
        diff("activities ids", [a["id"] for a in wa], [a.get("id") for a in ga])
    else:
        for a, b in zip(wa, ga):
            m = next(x for x in campaign.activities if x["id"] == a["id"])["measure"]
            v = b.get("value")
            if not _num_eq(v, a["value"]) or (m != "sum" and not isinstance(v, int)):
                diff("activity %s value" % a["id"], a["value"], v)
            if not _num_eq(b.get("target"), a["target"]):
                diff("activity %s target" % a["id"], a["target"], b.get("target"))
            if b.get("met") is not a["met"]:
                diff("activity %s met" % a["id"], a["met"], b.get("met"))
    wr = [(r["completion"], r["event_id"]) for r in want["rewards"]]
    grs = sorted(got.get("rewards") or [], key=lambda r: r.get("completion") or 0)
    gr = [(r.get("completion"), r.get("event_id")) for r in grs]
    if wr != gr:
        diff("rewards (completion, event_id)", wr, gr)
    for r in grs:
        for f in ("type", "name", "amount"):
            if r.get(f) != (campaign.reward or {}).get(f):
                diff("reward %s" % f, (campaign.reward or {}).get(f), r.get(f))
        rid = r.get("reward_id")
        key = (got.get("campaign_id"), where.split(" ")[0], r.get("completion"))
        if not isinstance(rid, str) or not rid:
            diff("reward_id", "a non-empty string", rid)
        elif reward_ids.setdefault(rid, key) != key:
            diff("reward_id %s" % rid, "unique", "also issued for %s" % (reward_ids[rid],))


def compare_users(api, ref, users, ats, limit=20):
    """Every user's GET /v1/users/{u}/campaigns?at=… against the reference.
    Returns (lines of differences, number of P's compared, reward ids seen):
    the first differences in full, each P's followed by the reference's
    trace of that user in that campaign for the first `limit` P's, then
    only a count."""
    out, compared, reward_ids = [], 0, {}
    bad = 0  # P's (or answers) with a difference
    for at in ats:
        for u in users:
            path = "/v1/users/%s/campaigns?at=%s" % (urllib.parse.quote(u, safe=""),
                                                     urllib.parse.quote(iso(at)))
            status, body = api.call("GET", path)
            where = "user=%s at=%s" % (u, iso(at))
            lines = []
            if status != 200:
                lines.append("%s: HTTP %s %s" % (where, status, body))
                bad += 1
            else:
                want = ref.progress(u, at)
                got = body.get("campaigns", [])
                wl, gl = [p["campaign_id"] for p in want], [p.get("campaign_id") for p in got]
                if wl != gl:
                    lines.append("%s campaigns listed: expected %s, got %s" % (where, wl, gl))
                    bad += 1
                else:
                    for w, g in zip(want, got):
                        compared += 1
                        mine = []
                        compare_p(w, g, ref.campaigns[w["campaign_id"]], where, mine, reward_ids)
                        if mine and bad < limit:
                            t = ref.trace(w["campaign_id"], u)
                            mine.append("  trace (reference, %d lines; last 25):\n    %s" % (
                                len(t), "\n    ".join(t[-25:]) or "(no event seen)"))
                        if mine:
                            bad += 1
                            lines += mine
            if len(out) < 400:
                out += lines
    if bad and len(out) >= 400:
        out.append("… (%d answers with differences in all)" % bad)
    return out, compared, reward_ids


def compare_stats_and_leaderboards(api, ref, ats):
    out = []
    for cid, c in sorted(ref.campaigns.items()):
        if not c.counts_anybody():
            continue  # segment campaigns too: compared per user only
        status, got = api.call("GET", "/v1/campaigns/%s/stats" % cid)
        want = ref.stats(cid, ref.users)
        if status != 200:
            out.append("stats %s: HTTP %s %s" % (cid, status, got))
        else:
            for f in ("completions", "rewards"):
                if got.get(f) != want[f]:
                    out.append("stats %s %s: expected %s, got %s" % (cid, f, want[f], got.get(f)))
            gu = got.get("users") or {}
            for f in ("in_progress", "completed") + (() if c.accept else ("pristine",)):
                if gu.get(f) != want["users"][f]:
                    out.append("stats %s users.%s: expected %s, got %s" % (
                        cid, f, want["users"][f], gu.get(f)))
        for a in c.activities:
            for at in ats:
                status, got = api.call("GET", "/v1/campaigns/%s/leaderboard?activity=%s&at=%s"
                                       "&limit=25" % (cid, a["id"], urllib.parse.quote(iso(at))))
                if status != 200:
                    out.append("leaderboard %s/%s: HTTP %s %s" % (cid, a["id"], status, got))
                    continue
                w = ref.leaderboard(cid, a["id"], at)[:25]
                g = [(r.get("user_id"), r.get("value")) for r in got.get("users", [])
                     if r.get("value")]
                if len(w) != len(g) or any(x[0] != y[0] or not _num_eq(y[1], x[1])
                                           for x, y in zip(w, g)):
                    out.append("leaderboard %s/%s at=%s: expected %s, got %s" % (
                        cid, a["id"], iso(at), w[:8], g[:8]))
    return out


def _members_of(api, sid):
    """GET /v1/segments/{id}/users, every page: {user: entered_at ms}."""
    got, cursor = {}, ""
    while True:
        status, page = api.call("GET", "/v1/segments/%s/users?limit=1000&cursor=%s" % (
            sid, urllib.parse.quote(cursor)))
        assert status == 200, "GET /v1/segments/%s/users: %s %s" % (sid, status, page)
        for m in page["users"]:
            got[m["user_id"]] = parse_iso(m["entered_at"])
        cursor = page.get("next_cursor")
        if not cursor:
            return got


def _entered_ok(want, got, upto):
    lo, hi = want
    return lo <= got <= (upto if hi is None else hi)


def _fmt_range(want):
    lo, hi = want
    return "in [%s, %s]" % (iso(lo), "now" if hi is None else iso(hi))


def compare_segments(api, ref, users, limit=20, members=True):
    """Every segment's members (GET /v1/segments/{id}/users, all pages, with
    entered_at) and every user's `segments` (GET /v1/users/{id}) against the
    reference (ref.seg). Lines of differences; the first `limit` users with
    one are followed by what the reference saw of them."""
    out, shown = [], set()
    upto = ms_now() + 1
    seg = ref.seg

    def explain(u):
        if u in shown or len(shown) >= limit:
            return
        shown.add(u)
        log = seg.log.get(u, [])
        out.append("  what changed %s's segments (reference, %d lines; last 25):\n    %s" % (
            u, len(log), "\n    ".join(log[-25:]) or "(nothing)"))

    for sid in sorted(seg.defs) if members else ():
        got, want = _members_of(api, sid), seg.members[sid]
        for u in sorted(set(got) | set(want)):
            if u not in got:
                out.append("segment %s user %s: expected a member (entered %s), got none" % (
                    sid, u, _fmt_range(want[u])))
            elif u not in want:
                out.append("segment %s user %s: expected no member, got one (entered_at %s)" % (
                    sid, u, iso(got[u])))
            elif not _entered_ok(want[u], got[u], upto):
                out.append("segment %s user %s: expected entered_at %s, got %s" % (
                    sid, u, _fmt_range(want[u]), iso(got[u])))
            else:
                continue
            explain(u)
    for u in users:
        status, body = api.call("GET", "/v1/users/" + urllib.parse.quote(u, safe=""))
        want = seg.of_user(u)
        if status == 404 and not want:
            continue
        if status != 200:
            out.append("user %s: HTTP %s %s" % (u, status, body))
            continue
        g = [(x.get("id"), parse_iso(x.get("entered_at"))) for x in body.get("segments", [])]
        if [x[0] for x in g] != [x[0] for x in want] or not all(
                _entered_ok(w[1], x[1], upto) for w, x in zip(want, g)):
            out.append("user %s segments: expected %s, got %s" % (
                u, [(sid, _fmt_range(r)) for sid, r in want],
                [(sid, iso(t)) for sid, t in g]))
            explain(u)
    return out


# Segment changes are counted as webhook deliveries to an endpoint that
# wants them; it is an address tally refuses (loopback, no
# --webhook-allow-hosts), so each delivery fails at once, without a
# request: what is counted is that the outbox entry existed. Deliveries
# cost the daemon a write each, so the endpoint is set only for the last
# part of the stream and the clock step after it.
SEGMENT_CHANGE_KINDS = ("segment_entered", "segment_exited")
STATS_EVERY_S = 2.0  # how often tally refreshes tally_webhook_backlog


def watch_segment_changes(d, api, ref):
    """Sets the endpoint once every outbox entry so far has been fanned
    out (to no endpoint, so they never become deliveries), and tells the
    reference to count changes from here on."""
    d.wait_processed(timeout=600)
    since = time.monotonic()
    # The backlog gauge is refreshed every STATS_EVERY_S: a 0 read after
    # a refresh that followed the last commit means nothing is left.
    wait_for(lambda: time.monotonic() - since > STATS_EVERY_S * 1.5 and
             d.metrics()["tally_webhook_backlog"] == 0, 120, "outbox entries fanned out")
    status, body = api.call("PUT", "/v1/webhooks", {"endpoints": [
        {"id": "segments", "url": "http://127.0.0.1:9/segments",
         "events": list(SEGMENT_CHANGE_KINDS)}]})
    assert status == 200, body
    ref.seg.watch()


def _deliveries_by_kind(api):
    n, cursor = {}, None
    while True:
        status, page = api.call("GET", "/v1/deliveries?limit=500" + (
            "&cursor=" + urllib.parse.quote(cursor) if cursor else ""))
        assert status == 200, "GET /v1/deliveries: %s %s" % (status, page)
        for x in page["deliveries"]:
            n[x.get("event")] = n.get(x.get("event"), 0) + 1
        cursor = page.get("next_cursor")
        if not cursor:
            return n


def compare_segment_changes(api, ref, timeout=120):
    """The number of segment_entered / segment_exited outbox entries (as
    deliveries, GET /v1/deliveries, all pages) against the reference's
    entries and exits of event segments since watch_segment_changes; polls until they are all there
    (entries become deliveries a poll interval after their commit) or
    `timeout` s passed. Lines of differences."""
    want = ref.seg.watched()
    deadline = time.monotonic() + timeout
    while True:
        got = _deliveries_by_kind(api)
        if all(got.get(k, 0) >= want[k] for k in want) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return ["%s outbox entries (deliveries): expected %d, got %d" % (k, want[k], got.get(k, 0))
            for k in SEGMENT_CHANGE_KINDS if got.get(k, 0) != want[k]] + [
        "deliveries of kind %s: expected none, got %d" % (k, v)
        for k, v in sorted(got.items()) if k not in want]


def wait_segments(api, ref, users, timeout=60):
    """Polls GET /v1/users/{u} of `users` until their segments are the
    reference's (the sweep runs on the pipeline's thread between batches);
    fails with the differences after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    left = list(users)
    while True:
        # A user that matches stays matched: a judgement still to come
        # is made at the same clock from the same state.
        left = [u for u in left if compare_segments(api, ref, [u], members=False)]
        if not left:
            return
        if time.monotonic() > deadline:
            diffs = compare_segments(api, ref, left, members=False)
            raise AssertionError("the sweep did not reach the reference's memberships in %ds:\n%s"
                                 % (timeout, "\n".join(diffs[:40])))
        time.sleep(0.05)


def query_times(now):
    """The `at`s progress is compared at: now, recent days, around each
    DST change of the last year, around a month start, and far back."""
    ats = [now, now - DAY, now - 6 * DAY, now - 13 * DAY]
    latest = {}
    for zone, t in dst_changes(now):  # the latest change of each DST zone
        latest[zone] = max(t, latest.get(zone, t))
    ats += sorted(latest.values())
    months = month_starts(now)
    if months:
        ats += [months[-1] - 3600000, months[-1] + 3600000]
    ats.append(now - 300 * DAY)
    return ats


def coverage(ref):
    """Per campaign: users in progress / completed, completions; so a run can
    show that it exercised what it claims."""
    rows = []
    for cid, c in sorted(ref.campaigns.items()):
        sts = [st for (k, _), st in ref.state.items() if k == cid]
        rows.append((cid, sum(1 for s in sts if s.seen), sum(s.completions for s in sts),
                     sum(1 for s in sts if s.done)))
    return rows


def fmt_coverage(rows):
    return "\n".join("  %-28s seen-by %5d users, %6d completions, %5d completed" % r
                     for r in rows)

