"""CleverTap webhooks through the real daemon: every fixture of
tests/fixtures/clevertap posted to /clevertap/v4 (write key in X-API-KEY)
ends as its expected events, processed or failed with the expected index
and reason, while the request is answered 200 {"success":true}; profileData
is merged into the user's attributes; a resent webhook is a duplicate (the
derived event id is stable); the is_test ping is answered 200 and stores
nothing; missing or wrong keys are refused with 401 and store nothing; a
body that can never succeed is 400."""

import base64
import datetime
import json
import os
import time

from harness import Daemon, create_tenant, run

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "clevertap")
NAMES = ["webhook", "single-profile", "broadcast", "server-shape", "bad-items"]
PATH = "/clevertap/v4"
OK = {"success": True}


def basic(key, password=""):
    raw = base64.b64encode(("%s:%s" % (key, password)).encode()).decode()
    return {"Authorization": "Basic " + raw, "Content-Type": "application/json"}


def load(name):
    """The fixture as bytes and its expected events. The server-shape body
    carries its own time: it is moved to an hour ago (the tenant refuses
    events older than 30 days)."""
    with open(os.path.join(FIXTURES, name + ".json"), "rb") as f:
        body = json.loads(f.read())
    with open(os.path.join(FIXTURES, name + ".expected.json")) as f:
        expected = json.load(f)
    if "timestamp" in body:
        t = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - \
            datetime.timedelta(hours=1)
        body["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        expected["events"][0]["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps(body).encode(), expected


def post(d, raw, headers):
    status, _, answer = d.request("POST", PATH, raw, headers)
    return status, json.loads(answer)


def test_fixtures_processed(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"], "Content-Type": "application/json"}
    sent = []
    for name in NAMES:
        raw, expected = load(name)
        assert post(d, raw, key) == (200, OK), name
        sent.append((name, expected))
    d.wait_processed()
    want_failed = []
    for name, expected in sent:
        for i, want in enumerate(expected["events"]):
            if "failed" in want:
                want_failed.append((i, want["failed"]["reason"], want["failed"]["field"]))
                continue
            status, e = d.get_json("/v1/events/" + want["event_id"], t["admin_key"])
            assert status == 200 and e["status"] == "processed", (name, i, e)
            got = e["event"]
            for k in ("kind", "source", "event_id", "event_name", "user_id", "properties",
                      "context", "traits"):
                assert got.get(k) == want.get(k), (name, i, k, got, want)
            if name == "server-shape":
                assert got["timestamp"] == want["timestamp"], got
            else:  # no time in a CleverTap body: the receive time
                assert got["timestamp"] == got["received_at"], got
    status, page = d.get_json("/v1/failed-events?source=clevertap&limit=100", t["admin_key"])
    assert status == 200
    got = sorted((f["index"], f["reason"], f["field"]) for f in page["failed_events"])
    assert got == sorted(want_failed), got
    # profileData merged into the users' attributes ($D_ dates decoded).
    status, u = d.get_json("/v1/users/user-2001", t["admin_key"])
    assert status == 200, u
    assert u["attributes"] == {"City": "Pune", "last_order": "2026-03-14T09:26:53.000Z"}, u
    status, u = d.get_json("/v1/users/user-1042", t["admin_key"])
    assert status == 200 and u["attributes"] == {"tier": "gold", "orders": 12}, u
    # CleverTap retries on any non-2xx: the same webhook again is a duplicate.
    raw, expected = load("webhook")
    assert post(d, raw, key) == (200, OK)
    d.wait_processed()
    e = d.get_json("/v1/events/" + expected["events"][0]["event_id"], t["admin_key"])[1]
    assert e["status"] == "duplicate", e
    assert d.stop() == 0


def nothing_stored(d):
    assert d.metrics()["tally_log_durable_offset_bytes"] == 0


def test_test_ping_and_auth(data):
    t = create_tenant(data)
    d = Daemon(data)
    raw, expected = load("webhook")
    cases = [
        {"Content-Type": "application/json"},
        {"X-API-KEY": "tly_wk_wrong"},
        {"X-API-KEY": t["admin_key"]},
        {"X-API-KEY": ""},
        basic("tly_wk_wrong"),
        {"Authorization": "Bearer " + t["write_key"]},
    ]
    for headers in cases:
        status, answer = post(d, raw, headers)
        assert status == 401 and answer["error"] == "unauthorized", (headers, answer)
    # The ping sent when the webhook is saved: 200, nothing recorded.
    with open(os.path.join(FIXTURES, "test-ping.json"), "rb") as f:
        ping = f.read()
    key = {"X-API-KEY": t["write_key"], "Content-Type": "application/json"}
    assert post(d, ping, key) == (200, OK)
    nothing_stored(d)
    assert d.get_json("/v1/events/" + expected["events"][0]["event_id"], t["admin_key"])[0] \
        == 404
    # Basic auth with the write key as user name is accepted too.
    assert post(d, raw, basic(t["write_key"])) == (200, OK)
    d.wait_processed()
    e = d.get_json("/v1/events/" + expected["events"][0]["event_id"], t["admin_key"])[1]
    assert e["status"] == "processed", e
    assert d.stop() == 0


def test_unusable_bodies(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"], "Content-Type": "application/json"}
    bad = [("{\"profiles\":[", ""), ("{\"name\":\"O\"Brien\"}", ""), ("[]", ""), ("", ""),
           ("{\"targetId\":1}", "profiles"), ("{\"profiles\":[]}", "profiles"),
           ("{\"profiles\":\"x\"}", "profiles")]
    for body, field in bad:
        status, answer = post(d, body, key)
        assert status == 400 and answer["error"] == "invalid_request", (body, answer)
        assert answer.get("field", "") == field, (body, answer)
    nothing_stored(d)
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
