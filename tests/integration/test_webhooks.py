"""Outbound webhooks through the real daemon and a real receiver on
127.0.0.1 started by the test: endpoint settings (validation, secrets never
answered), a completion delivered once with both signatures verifying
(computed here with Python's hmac), an activity met and a segment entry
delivered to the endpoints that want them, retries on 500 and on a hanging
receiver (timeout), no retry on 400, Retry-After respected, the retry API,
the per-endpoint concurrency limit (a slow endpoint does not hold up
another), templates and a campaign's own endpoints, tenant isolation,
refused non-public destinations without --webhook-allow-hosts, /metrics,
SIGTERM letting a request in flight finish, SIGKILL with deliveries pending
(all delivered after the restart, none lost), and the README's
receiver-verification example, run verbatim.

The daemon runs with short retry delays (--webhook-retry-first 200ms,
--webhook-retry-max 1s): these options exist for tests like this one.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time

from harness import Daemon, admin, create_tenant, event, run, wait_for

FAST = ["--webhook-allow-hosts", "127.0.0.1", "--webhook-retry-first", "200ms",
        "--webhook-retry-max", "1s", "--webhook-poll", "50ms", "--webhook-timeout", "1s"]
SECRET = "s3cret-key"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()

CAMPAIGN = {"id": "first-order", "name": "First order",
            "activities": [{"id": "orders", "event": "order_placed", "measure": "count",
                            "target": 1}],
            "max_completions": 0,
            "reward": {"type": "points", "name": "100 coins", "amount": 100}}


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers
    from a script: a list of (status, headers, delay_s), then `default`."""

    def __init__(self, script=(), default=(200, {}, 0)):
        self.script = list(script)
        self.default = default
        self.requests = []  # (monotonic time, headers dict lower-case, body bytes)
        self.lock = threading.Lock()
        self.active = self.max_active = 0  # requests being answered now, and the most at once
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append((time.monotonic(),
                                           {k.lower(): v for k, v in self.headers.items()}, body))
                    status, headers, delay = outer.script.pop(0) if outer.script else outer.default
                    outer.active += 1
                    outer.max_active = max(outer.max_active, outer.active)
                if delay:
                    time.sleep(delay)
                with outer.lock:
                    outer.active -= 1
                payload = b'{"ok":true}' if status < 300 else b"x" * 5000
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client gone mid-request (timeouts, SIGKILL) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def setup(d, key, endpoints, campaign=CAMPAIGN):
    status, body = d.send_json("PUT", "/v1/webhooks", {"endpoints": endpoints}, key)
    assert status == 200, body
    if campaign is not None:
        status, body = d.send_json("POST", "/v1/campaigns", campaign, key)
        assert status == 201, body


def complete(d, t, eid, user="user-1"):
    status, _, body = d.post("/server/v4", event(eid, user=user), t["write_key"])
    assert status == 200, body


def deliveries(d, key, query=""):
    status, body = d.get_json("/v1/deliveries" + query, key)
    assert status == 200, body
    return body["deliveries"]


def first_status(d, key):
    ds = deliveries(d, key)
    return ds[0]["status"] if ds else None


def verify_cg(secret, headers, body):
    want = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return headers.get("x-cg-signature") == want


def verify_std(secret, headers, body):
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    signed = (headers["webhook-id"] + "." + headers["webhook-timestamp"] + ".").encode() + body
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return want in headers.get("webhook-signature", "").split(" ")


def test_settings_validation_and_no_secrets(data):
    t = create_tenant(data)
    key = t["admin_key"]
    d = Daemon(data, *FAST)
    status, body = d.get_json("/v1/webhooks", key)
    assert status == 200 and body == {"endpoints": []}, body
    bad = [
        ({"endpoints": [{"url": "ftp://x.example", "events": ["reward_issued"]}]},
         "endpoints[0].url"),
        ({"endpoints": [{"url": "https://x.example", "events": []}]}, "endpoints[0].events"),
        ({"endpoints": [{"url": "https://x.example", "events": ["paid"]}]},
         "endpoints[0].events[0]"),
        ({"endpoints": [{"url": "https://u:p@x.example", "events": ["reward_issued"]}]},
         "endpoints[0].url"),
        ({"endpoints": [{"url": "https://x.example", "events": ["reward_issued"],
                         "template": {"a": "$b..c"}}]}, "endpoints[0].template"),
        ({"endpoints": [{"url": "https://x.example", "events": ["reward_issued"],
                         "colour": 1}]}, "endpoints[0].colour"),
        ({"endpoints": [{"url": "https://x.example", "events": ["reward_issued"],
                         "secret": "whsec_***"}]}, "endpoints[0].secret"),
        ({"hooks": []}, "hooks"),
    ]
    for doc, field in bad:
        status, body = d.send_json("PUT", "/v1/webhooks", doc, key)
        assert status == 400 and body.get("field") == field, (doc, body)
    doc = {"endpoints": [
        {"id": "crm", "url": "https://crm.example/hook", "secret": SECRET,
         "events": ["reward_issued", "campaign_completed", "segment_entered"]},
        {"url": "http://[::1]:9/x", "events": ["activity_completed"]}]}
    status, body = d.send_json("PUT", "/v1/webhooks", doc, key)
    assert status == 200, body
    for answer in (body, d.get_json("/v1/webhooks", key)[1]):
        assert SECRET not in json.dumps(answer)
        assert answer["endpoints"][0]["secret_set"] is True
        assert answer["endpoints"][1]["secret_set"] is False
        assert answer["endpoints"][1]["id"] == "endpoint-2"
    status, _, _ = d.request("GET", "/v1/webhooks")
    assert status == 401
    d.stop()
    assert SECRET not in d.stderr()


def test_completion_delivered_once_signed(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver()
    rx2 = Receiver()
    d = Daemon(data, *FAST)
    setup(d, key, [{"id": "crm", "url": rx.url, "secret": SECRET, "events": ["reward_issued"]},
                   {"id": "std", "url": rx2.url, "secret": WHSEC,
                    "events": ["campaign_completed"]}])
    complete(d, t, "o-1")
    wait_for(lambda: rx.count() == 1 and rx2.count() == 1, 20, "both deliveries")
    time.sleep(1.0)  # nothing more comes
    assert rx.count() == 1 and rx2.count() == 1
    _, h, raw = rx.requests[0]
    body = json.loads(raw)
    assert "eventType" not in body
    assert body["campaignId"] == "first-order" and body["type"] == "points"
    assert body["userId"] == "user-1" and body["rewardName"] == "100 coins"
    assert body["rewardAmount"] == 100 and re.fullmatch(r"[0-9a-f]{32}", body["rewardId"])
    assert body["details"]["eventId"] == "o-1"
    assert raw == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert verify_cg(SECRET, h, raw) and verify_std(SECRET, h, raw)
    assert not verify_cg("other", h, raw)
    assert abs(int(h["webhook-timestamp"]) - time.time()) < 60
    _, h2, raw2 = rx2.requests[0]
    b2 = json.loads(raw2)
    assert b2["eventType"] == "campaign_completed" and b2["rewardId"] == body["rewardId"]
    assert verify_std(WHSEC, h2, raw2) and verify_cg(WHSEC, h2, raw2)
    assert h["webhook-id"] != h2["webhook-id"]
    ds = deliveries(d, key)
    assert len(ds) == 2 and all(x["status"] == "delivered" for x in ds), ds
    assert {x["id"] for x in ds} == {h["webhook-id"], h2["webhook-id"]}
    assert all(x["attempts"] == 1 and x["last_status"] == 200 for x in ds)
    assert all(x["reward_id"] == body["rewardId"] for x in ds)
    assert deliveries(d, key, "?status=pending") == []
    m = d.metrics()
    wait_for(lambda: d.metrics().get('tally_webhook_deliveries{status="delivered"}') == 2, 10,
             "metrics")
    assert m.get("tally_webhook_attempt_seconds_count", 0) >= 2
    assert 'tally_webhook_backlog' in d.metrics()
    d.stop()
    rx.close()
    rx2.close()


def test_segment_entry_and_exit_delivered(data):
    """Segment membership changes reach endpoints that want them, signed,
    and only those endpoints."""
    t = create_tenant(data)
    key = t["admin_key"]
    rx, other = Receiver(), Receiver()
    d = Daemon(data, *FAST)
    setup(d, key, [{"id": "seg", "url": rx.url, "secret": SECRET,
                    "events": ["segment_entered", "segment_exited"]},
                   {"id": "rewards", "url": other.url, "events": ["reward_issued"]}],
          campaign=None)
    status, body = d.send_json("POST", "/v1/segments", {
        "id": "big-spenders", "type": "event", "conditions": [
            {"event": "order_placed", "measure": "sum", "property": "amount", "op": "gte",
             "value": 100, "within": "1d"}]}, key)
    assert status == 201, body
    status, _, body = d.post("/server/v4", event("s-1", user="u9", amount=150), t["write_key"])
    assert status == 200, body
    wait_for(lambda: rx.count() == 1, 20, "the segment_entered delivery")
    _, h, raw = rx.requests[0]
    b = json.loads(raw)
    assert b["eventType"] == "segment_entered", b
    assert b["segmentId"] == "big-spenders" and b["userId"] == "u9", b
    assert verify_cg(SECRET, h, raw) and verify_std(SECRET, h, raw)
    time.sleep(0.5)
    assert other.count() == 0  # it wants rewards only
    d.stop()
    rx.close()
    other.close()


def test_activity_completed_delivered_once(data):
    """An activity met on its own (the campaign not yet complete) reaches the
    endpoints that want activity_completed, once per window, with the
    activity, its value and target."""
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver()
    d = Daemon(data, *FAST)
    two = {"id": "two-steps", "name": "Two steps",
           "activities": [{"id": "orders", "event": "order_placed", "measure": "count",
                           "target": 2},
                          {"id": "spend", "event": "order_placed", "measure": "sum",
                           "property": "amount", "target": 1000}]}
    setup(d, key, [{"id": "acts", "url": rx.url, "secret": SECRET,
                    "events": ["activity_completed"]}], campaign=two)
    for i, amount in enumerate((10, 20, 30)):  # orders is met by the 2nd; spend never
        status, _, body = d.post("/server/v4", event("a-%d" % i, user="u5", amount=amount),
                                 t["write_key"])
        assert status == 200, body
    wait_for(lambda: rx.count() == 1, 20, "the activity_completed delivery")
    time.sleep(1.0)  # the third order meets nothing new
    assert rx.count() == 1
    _, h, raw = rx.requests[0]
    b = json.loads(raw)
    assert b["eventType"] == "activity_completed" and b["campaignId"] == "two-steps", b
    assert (b["userId"], b["activityId"], b["value"], b["target"]) == ("u5", "orders", 2, 2), b
    assert b["details"]["eventId"] == "a-1" and b["details"]["completion"] == 1, b
    assert verify_cg(SECRET, h, raw) and verify_std(SECRET, h, raw)
    status, p = d.get_json("/v1/users/u5/campaigns/two-steps", key)
    assert p["status"] == "in-progress" and p["completions"] == 0, p
    d.stop()
    rx.close()


def test_500_twice_then_200(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver([(500, {}, 0), (500, {}, 0)])
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "secret": SECRET, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: rx.count() == 3, 20, "three attempts")
    wait_for(lambda: first_status(d, key) == "delivered", 10, "delivered")
    time.sleep(1.0)
    assert rx.count() == 3
    ids = {h["webhook-id"] for _, h, _ in rx.requests}
    assert len(ids) == 1 and len({b for _, _, b in rx.requests}) == 1
    ds = deliveries(d, key)
    assert len(ds) == 1 and ds[0]["attempts"] == 3 and ds[0]["last_status"] == 200, ds
    d.stop()
    rx.close()


def test_400_fails_without_retry_then_retry_api(data):
    t = create_tenant(data)
    key = t["admin_key"]
    other = create_tenant(data, "other")
    rx = Receiver([(400, {}, 0)])
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: first_status(d, key) == "failed", 20, "failed")
    time.sleep(1.5)
    assert rx.count() == 1
    ds = deliveries(d, key, "?status=failed")
    assert ds[0]["last_status"] == 400 and ds[0]["attempts"] == 1
    assert len(ds[0]["last_error"]) < 400  # the 5000-byte body is not kept whole
    assert "x-cg-signature" not in rx.requests[0][1]  # no secret, no signature
    # another tenant sees nothing and cannot retry it
    assert deliveries(d, other["admin_key"]) == []
    status, _, _ = d.request("POST", "/v1/deliveries/%s/retry" % ds[0]["id"],
                             headers=admin(other["admin_key"]))
    assert status == 404
    status, body = d.send_json("POST", "/v1/deliveries/%s/retry" % ds[0]["id"], None, key)
    assert status == 200 and body["status"] == "pending", body
    wait_for(lambda: first_status(d, key) == "delivered", 20, "delivered")
    assert rx.count() == 2
    status, _, _ = d.request("POST", "/v1/deliveries/%s/retry" % ds[0]["id"], headers=admin(key))
    assert status == 409
    status, _, _ = d.request("GET", "/v1/deliveries?status=lost", headers=admin(key))
    assert status == 400
    d.stop()
    rx.close()


def test_hanging_receiver_times_out_and_is_retried(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver([(200, {}, 3)])  # answers after the 1 s timeout
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: first_status(d, key) == "delivered", 30, "delivered")
    ds = deliveries(d, key)
    assert rx.count() == 2 and ds[0]["attempts"] == 2, (rx.count(), ds)
    d.stop()
    rx.close()


def test_per_endpoint_concurrency(data):
    t = create_tenant(data)
    key = t["admin_key"]
    slow, fast = Receiver(default=(200, {}, 0.4)), Receiver()
    d = Daemon(data, *FAST, "--webhook-concurrency", "2")
    setup(d, key, [{"id": "slow", "url": slow.url, "events": ["reward_issued"]},
                   {"id": "fast", "url": fast.url, "events": ["campaign_completed"]}])
    for i in range(8):
        complete(d, t, "o-%d" % i, user="u-%d" % i)
    wait_for(lambda: fast.count() == 8, 20, "the other endpoint, not held up")
    assert slow.count() < 8  # the slow one is still working through its backlog
    wait_for(lambda: slow.count() == 8, 30, "every delivery to the slow endpoint")
    assert slow.max_active == 2, slow.max_active
    d.stop()
    slow.close()
    fast.close()


def test_retry_after_respected(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver([(503, {"Retry-After": "2"}, 0)])
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: rx.count() == 2, 20, "second attempt")
    gap = rx.requests[1][0] - rx.requests[0][0]
    assert gap >= 1.9, gap  # the backoff alone would retry within 0.2 s
    d.stop()
    rx.close()


def test_template_and_campaign_endpoints(data):
    t = create_tenant(data)
    key = t["admin_key"]
    tenant_rx, camp_rx = Receiver(), Receiver()
    d = Daemon(data, *FAST)
    camp = dict(CAMPAIGN, id="own-hook", webhook={"endpoints": [
        {"url": camp_rx.url, "secret": SECRET, "events": ["reward_issued"],
         "template": {"user": "$userId", "order": "$details.eventId", "missing": "$nope",
                      "fixed": ["$$literal", 7]}}]})
    setup(d, key, [{"url": tenant_rx.url, "events": ["reward_issued"]}], campaign=camp)
    status, body = d.get_json("/v1/campaigns/own-hook", key)
    assert status == 200 and SECRET not in json.dumps(body), body
    assert body["webhook"]["endpoints"][0]["secret_set"] is True
    complete(d, t, "o-9", user="u-7")
    wait_for(lambda: camp_rx.count() == 1, 20, "campaign endpoint")
    time.sleep(0.5)
    assert tenant_rx.count() == 0  # the campaign's endpoints replace the tenant's
    _, h, raw = camp_rx.requests[0]
    assert json.loads(raw) == {"user": "u-7", "order": "o-9", "missing": None,
                               "fixed": ["$literal", 7]}
    assert verify_cg(SECRET, h, raw)
    d.stop()
    tenant_rx.close()
    camp_rx.close()


def test_non_public_destination_refused_by_default(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver()
    d = Daemon(data, "--webhook-poll", "50ms")
    setup(d, key, [{"url": rx.url, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: first_status(d, key) == "failed", 20, "refused")
    assert "not allowed" in deliveries(d, key)[0]["last_error"]
    assert rx.count() == 0
    d.stop()
    rx.close()


def test_sigterm_lets_a_request_in_flight_finish(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver(default=(200, {}, 0.8))
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: rx.count() == 1, 20, "the request in flight")
    assert d.stop() == 0
    d = Daemon(data, *FAST)
    assert first_status(d, key) == "delivered"
    time.sleep(0.5)
    assert rx.count() == 1  # recorded before stopping: not sent again
    d.stop()
    rx.close()


def test_sigkill_with_pending_deliveries(data):
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver(default=(500, {}, 0))
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "events": ["reward_issued"]}])
    users = ["u-%d" % i for i in range(25)]
    for i, u in enumerate(users):
        complete(d, t, "o-%d" % i, user=u)
    wait_for(lambda: len(deliveries(d, key, "?status=pending")) == len(users) and
             rx.count() >= len(users), 30, "pending deliveries")
    d.kill()
    rx.default = (200, {}, 0)
    d = Daemon(data, *FAST)
    wait_for(lambda: len(deliveries(d, key, "?status=delivered&limit=500")) == len(users), 60,
             "every delivery after the restart")
    got = {b["userId"] for b in rx.bodies()}
    assert got == set(users)
    ds = deliveries(d, key, "?limit=500")
    assert len(ds) == len(users) and len({x["reward_id"] for x in ds}) == len(users)
    # pagination: two pages of 20 and 5
    page = d.get_json("/v1/deliveries?limit=20", key)[1]
    rest = d.get_json("/v1/deliveries?limit=20&cursor=" + page["next_cursor"], key)[1]
    assert len(page["deliveries"]) == 20 and len(rest["deliveries"]) == 5
    assert rest["next_cursor"] is None
    d.stop()
    rx.close()


def readme_example():
    here = os.path.dirname(os.path.abspath(__file__))
    text = open(os.path.join(here, "..", "..", "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- webhook-verify-example -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md has no receiver-verification example"
    return m.group(1)


def test_readme_receiver_example(data):
    """The README's verification code, verbatim, accepts what tally sends and
    refuses a tampered body."""
    t = create_tenant(data)
    key = t["admin_key"]
    rx = Receiver()
    d = Daemon(data, *FAST)
    setup(d, key, [{"url": rx.url, "secret": WHSEC, "events": ["reward_issued"]}])
    complete(d, t, "o-1")
    wait_for(lambda: rx.count() == 1, 20, "delivery")
    d.stop()
    rx.close()
    _, h, raw = rx.requests[0]
    ns = {}
    exec(compile(readme_example(), "README.md", "exec"), ns)
    assert ns["verify_cg_signature"](WHSEC, raw, h["x-cg-signature"])
    assert ns["verify_webhook_signature"](WHSEC, h["webhook-id"], h["webhook-timestamp"], raw,
                                          h["webhook-signature"])
    assert not ns["verify_cg_signature"](WHSEC, raw + b" ", h["x-cg-signature"])
    assert not ns["verify_webhook_signature"](WHSEC, h["webhook-id"], h["webhook-timestamp"],
                                              raw + b" ", h["webhook-signature"])


if __name__ == "__main__":
    run(globals())
