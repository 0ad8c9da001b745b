"""MoEngage Streams through the real daemon: every fixture of
tests/fixtures/moengage posted to both endpoints (/v3/moengage and
/moengage/v4, write key in X-API-KEY) ends as its expected events,
processed or failed with the expected index and reason, while the request
is answered 200 {"success":true}; user_attributes are merged into the
user's attributes, last write wins by event time; a resent batch is a
duplicate; Basic auth with the write key works, missing or wrong keys are
refused with 401 and store nothing; a body that can never succeed is
answered 200 once durable and waits, whole, in the failed events (MoEngage
would resend it three times and then drop it)."""

import base64
import datetime
import json
import os
import time

from harness import Daemon, create_tenant, run

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "moengage")
NAMES = ["streams", "uid-fallback", "times", "bad-items", "invalid-utf8", "user-attributes"]
PATHS = {"/v3/moengage": "v3", "/moengage/v4": "v4"}
BASE = 1773481500  # the fixtures' receive time (2026-03-14T09:45:00Z), in seconds
OK = {"success": True}


def basic(key, password=""):
    raw = base64.b64encode(("%s:%s" % (key, password)).encode()).decode()
    return {"Authorization": "Basic " + raw, "Content-Type": "application/json"}


def parse_iso(text):
    for f in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.datetime.strptime(text, f)
        except ValueError:
            continue
    return None


def shift_iso(text, delta):
    """An ISO-8601 time moved by delta seconds, written in its own offset."""
    d = parse_iso(text)
    if d is None:
        return text
    d += datetime.timedelta(seconds=delta)
    out = d.strftime("%Y-%m-%dT%H:%M:%S")
    if d.microsecond:
        out += ".%03d" % (d.microsecond // 1000)
    return out + ("Z" if text.endswith("Z") else d.strftime("%z"))


def shift_time(v, delta):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v + delta * 1000 if v > 10 ** 11 else v + delta
    if isinstance(v, str) and v.isdigit():
        return str(int(v) + delta)
    if isinstance(v, str):
        return shift_iso(v, delta)
    return v


def load(name, path, delta):
    """The fixture made sendable today as raw bytes (invalid UTF-8 kept): its
    times moved by delta seconds, keeping their order (the tenant refuses
    events older than 30 days), and event ids unique to fixture and path."""
    with open(os.path.join(FIXTURES, name + ".json"), "rb") as f:
        body = json.loads(f.read().decode("utf-8", "surrogateescape"))
    with open(os.path.join(FIXTURES, name + ".expected.json")) as f:
        expected = json.load(f)
    suffix = "." + name + "." + PATHS[path]
    for ev in body["events"]:
        if not isinstance(ev, dict):
            continue
        if "event_time" in ev:
            ev["event_time"] = shift_time(ev["event_time"], delta)
        if isinstance(ev.get("event_uuid"), str):
            ev["event_uuid"] += suffix
    for ev in expected["events"]:
        if "event_id" in ev:
            ev["event_id"] += suffix
            ev["timestamp"] = shift_iso(ev["timestamp"], delta)
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogateescape")
    return raw, body, expected


def post(d, path, raw, headers):
    status, _, answer = d.request("POST", path, raw, headers)
    return status, json.loads(answer)


def test_fixtures_processed(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"], "Content-Type": "application/json"}
    delta = int(time.time()) - BASE - 3600
    sent = []
    for name in NAMES:
        for path in PATHS:
            raw, body, expected = load(name, path, delta)
            assert post(d, path, raw, key) == (200, OK), (name, path)
            sent.append((name, path, body, expected))
    d.wait_processed()
    want_failed = []
    for name, path, body, expected in sent:
        for i, want in enumerate(expected["events"]):
            item = body["events"][i]
            if "failed" in want:
                want_failed.append((i, want["failed"]["reason"], want["failed"]["field"]))
                uuid = item.get("event_uuid") if isinstance(item, dict) else None
                if not isinstance(uuid, str):
                    continue  # no usable id: checked through the failed-events list below
                status, e = d.get_json("/v1/events/" + uuid, t["admin_key"])
                assert status == 200 and e["status"] == "failed", (name, path, i, e)
                assert (e["reason"], e["field"]) == (want["failed"]["reason"],
                                                     want["failed"]["field"]), (name, i, e)
                continue
            status, e = d.get_json("/v1/events/" + want["event_id"], t["admin_key"])
            assert status == 200 and e["status"] == "processed", (name, path, i, e)
            got = e["event"]
            assert parse_iso(got["timestamp"]) == parse_iso(want["timestamp"]), (name, i, got)
            for k in ("kind", "source", "event_id", "event_name", "user_id", "properties",
                      "context", "traits"):
                assert got.get(k) == want.get(k), (name, path, i, k, got, want)
    # Every failed item is listed with its index and reason.
    status, page = d.get_json("/v1/failed-events?source=moengage&limit=100", t["admin_key"])
    assert status == 200
    got = sorted((f["index"], f["reason"], f["field"]) for f in page["failed_events"])
    assert got == sorted(want_failed), got
    # An item with invalid UTF-8 is listed as its exact bytes, in base64 (the
    # answer itself stays valid UTF-8).
    broken = [f for f in page["failed_events"] if f["reason"] == "invalid_utf8"]
    assert len(broken) == 2, broken
    for f in broken:
        assert "item" not in f and b"caf\xc3 \xff" in base64.b64decode(f["raw_base64"]), f
    # user_attributes merged, last write wins by event time (the newer event
    # of user-attributes comes first, the older must not undo its city).
    status, u = d.get_json("/v1/users/user-2001", t["admin_key"])
    assert status == 200, u
    assert u["attributes"] == {"moengage_user_id": "65f0aa", "first_name": "Ravi",
                               "city": "Pune", "email": "ravi@example.com"}, u
    status, u = d.get_json("/v1/users/user-1042", t["admin_key"])
    assert status == 200 and u["attributes"]["first_name"] == "Asha", u
    # MoEngage resends a whole batch after a non-2xx: its events are duplicates.
    raw, body, expected = load("streams", "/v3/moengage", delta)
    assert post(d, "/v3/moengage", raw, key) == (200, OK)
    d.wait_processed()
    e = d.get_json("/v1/events/" + expected["events"][0]["event_id"], t["admin_key"])[1]
    assert e["status"] == "duplicate", e
    assert d.stop() == 0


def nothing_stored(d, t, ids):
    for i in ids:
        status, _ = d.get_json("/v1/events/" + i, t["admin_key"])
        assert status == 404, i
    assert d.metrics()["tally_log_durable_offset_bytes"] == 0


def test_auth(data):
    t = create_tenant(data)
    other = create_tenant(data, "other")
    d = Daemon(data)
    delta = int(time.time()) - BASE - 3600
    raw, body, expected = load("streams", "/moengage/v4", delta)
    ids = [e["event_id"] for e in expected["events"]]
    cases = [
        {"Content-Type": "application/json"},
        {"X-API-KEY": "tly_wk_wrong"},
        {"X-API-KEY": t["admin_key"]},
        {"X-API-KEY": ""},
        basic("tly_wk_wrong"),
        basic(t["admin_key"]),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Bearer " + t["write_key"]},
        dict(basic(t["write_key"]), **{"X-API-KEY": "tly_wk_wrong"}),  # X-API-KEY wins
    ]
    for path in PATHS:
        for headers in cases:
            status, answer = post(d, path, raw, headers)
            assert status == 401 and answer["error"] == "unauthorized", (path, headers, answer)
    nothing_stored(d, t, ids)
    # Basic auth with the write key as user name (any password) is accepted.
    assert post(d, "/moengage/v4", raw, basic(t["write_key"], "ignored")) == (200, OK)
    raw3, _, expected3 = load("streams", "/v3/moengage", delta)
    assert post(d, "/v3/moengage", raw3, basic(other["write_key"])) == (200, OK)
    d.wait_processed()
    for i in ids:
        assert d.get_json("/v1/events/" + i, t["admin_key"])[1]["status"] == "processed", i
    for e in expected3["events"]:
        assert d.get_json("/v1/events/" + e["event_id"], t["admin_key"])[0] == 404
        assert d.get_json("/v1/events/" + e["event_id"], other["admin_key"])[1]["status"] == \
            "processed"
    assert d.stop() == 0


def test_shapes_and_limits(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"], "Content-Type": "application/json"}
    item = {"event_name": "E", "event_uuid": "x", "event_time": int(time.time()), "uid": "u"}
    # (body, field named in the answer, reason of the failed record)
    bad = [("{\"events\":[", "", "invalid_json"), ("[{\"events\":[]}]", "", "invalid_type"),
           ("\"MOENGAGE\"", "", "invalid_type"), ("{\"events\":[]} {}", "", "invalid_json"),
           ("", "", "invalid_json"),
           ("{\"app_name\":\"A\",\"source\":\"MOENGAGE\"}", "events", "missing_field"),
           ("{\"events\":{}}", "events", "invalid_type"),
           ("{\"events\":[]}", "events", "missing_field"),
           (json.dumps({"events": [item] * 501}), "events", "too_large")]
    expected = []
    for path in PATHS:
        for body, field, reason in bad:
            status, answer = post(d, path, body, key)
            assert status == 200, (path, body[:40], status, answer)
            assert answer["success"] is True, answer
            assert answer["dead_letter"]["field"] == field, (body[:40], answer)
            assert answer["dead_letter"]["message"], answer
            expected.append((reason, body))
    status, answer = post(d, "/v3/moengage", json.dumps({"events": [item] * 501}), key)
    assert "at most 500 allowed" in answer["dead_letter"]["message"], answer
    # 500 events is accepted; items that are not events still get 200.
    assert post(d, "/moengage/v4", json.dumps({"events": [dict(item, event_uuid="l-%d" % i)
                                                         for i in range(500)]}), key) == (200, OK)
    assert post(d, "/moengage/v4", json.dumps({"events": [1, None, "x"]}), key) == (200, OK)
    d.wait_processed()
    assert d.get_json("/v1/events/l-499", t["admin_key"])[1]["status"] == "processed"
    # Every unusable body is one failed record with its reason, nothing lost.
    status, page = d.get_json("/v1/failed-events?source=moengage&limit=100", t["admin_key"])
    assert status == 200, page
    whole = sorted(f["reason"] for f in page["failed_events"] if f["index"] == -1)
    assert whole == sorted(r for r, _ in expected + [("too_large", "")]), whole
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
