"""POST /server/v4 and /server/v4/batch against the real daemon: every
answer of the contract (200, 400 naming the field, 401), what ends up in the
event log, tenant isolation, and keys created while the daemon runs."""

import json
import os
import sqlite3
import time

from harness import Daemon, create_tenant, dump, dumped_event_ids, event, run

def fixture_server_v4():
    here = os.path.join(os.path.dirname(__file__), "..", "fixtures", "server", "server-v4.json")
    with open(here) as f:
        return f.read()


def test_single_event_is_durable_and_dumped(data):
    t = create_tenant(data)
    d = Daemon(data)
    body = fixture_server_v4()
    status, headers, answer = d.post("/server/v4", body, t["write_key"])
    assert status == 200, answer
    assert json.loads(answer) == {"success": True}
    assert len(headers["x-request-id"]) == 32
    assert d.stop() == 0
    recs = dump(data)
    assert len(recs) == 1
    r = recs[0]
    assert r["body"] == body  # exactly the bytes received
    assert r["tenant"] == t["id"] and r["source"] == "server" and r["kind"] == "single"
    assert r["request_id"] == headers["x-request-id"]
    assert r["received_at"].endswith("Z")


def test_each_missing_field_is_named(data):
    t = create_tenant(data)
    d = Daemon(data)
    for field in ("event_id", "event_name", "user_id", "timestamp", "event_properties"):
        ev = event("e-" + field)
        del ev[field]
        status, _, answer = d.post("/server/v4", ev, t["write_key"])
        assert status == 400, (field, answer)
        err = json.loads(answer)
        assert err["success"] is False and err["field"] == field, err
        assert field in err["message"] and "missing" in err["message"], err
    assert d.stop() == 0
    assert dump(data) == []  # nothing that was refused was stored


def test_wrong_types_sizes_and_timestamps_are_named(data):
    t = create_tenant(data)
    d = Daemon(data)
    cases = [
        ({"event_id": 7}, "event_id", "expected string"),
        ({"event_name": ""}, "event_name", "empty"),
        ({"user_id": "u" * 257}, "user_id", "257 bytes"),
        ({"event_id": "x" * 129}, "event_id", "129 bytes"),
        ({"event_properties": []}, "event_properties", "expected object"),
        ({"timestamp": "2026-03-14T09:26:53"}, "timestamp", "offset"),
        ({"timestamp": "2026-02-30T09:26:53Z"}, "timestamp", "day out of range"),
        ({"timestamp": True}, "timestamp", "expected ISO-8601"),
        ({"timestamp": -5}, "timestamp", "non-negative"),
    ]
    for change, field, words in cases:
        ev = event("e1")
        ev.update(change)
        status, _, answer = d.post("/server/v4", ev, t["write_key"])
        err = json.loads(answer)
        assert status == 400 and err["field"] == field and words in err["message"], (change, err)
    # Every accepted timestamp form.
    for i, ts in enumerate(["2026-01-05T10:00:00+0530", "2026-01-05T10:00:00+05:30",
                            "2026-01-05T10:00:00.123456Z", 1773480413, 1773480413589,
                            "1773480413"]):
        ev = event("ts-%d" % i)
        ev["timestamp"] = ts
        status, _, answer = d.post("/server/v4", ev, t["write_key"])
        assert status == 200, (ts, answer)
    assert d.stop() == 0


def test_invalid_json_says_where(data):
    t = create_tenant(data)
    d = Daemon(data)
    for body, where in [('{"event_id": "a",', "byte"), ("[1,2]", "expected a JSON object"),
                        ('{"a":1} trailing', "byte 8"), ("", "empty body")]:
        status, _, answer = d.post("/server/v4", body, t["write_key"])
        err = json.loads(answer)
        assert status == 400 and where in err["message"], (body, err)
    assert d.stop() == 0


def test_keys_are_checked(data):
    t = create_tenant(data)
    other = create_tenant(data, "other")
    d = Daemon(data)
    ev = event("k1")
    cases = [({}, "missing X-API-KEY"),
             ({"X-API-KEY": "tly_wk_" + "0" * 40}, "invalid write key"),
             ({"X-API-KEY": t["admin_key"]}, "invalid write key"),  # admin key is not a write key
             ({"X-API-KEY": t["write_key"][:-1]}, "invalid write key"),
             ({"X-API-KEY": ""}, "invalid write key")]
    for headers, words in cases:
        status, _, answer = d.request("POST", "/server/v4", ev, headers)
        assert status == 401 and words in json.loads(answer)["message"], (headers, answer)
    # Header name in any case; each tenant's key lands under its own tenant id.
    for name, tenant, eid in [("x-api-key", t, "k2"), ("X-Api-Key", other, "k3")]:
        status, _, answer = d.request("POST", "/server/v4", event(eid), {name: tenant["write_key"]})
        assert status == 200, answer
    assert d.stop() == 0
    tenants = {json.loads(r["body"])["event_id"]: r["tenant"] for r in dump(data)}
    assert tenants == {"k2": t["id"], "k3": other["id"]}
    assert t["id"] != other["id"]


def test_tenant_created_while_running_can_send(data):
    create_tenant(data)
    d = Daemon(data)
    late = create_tenant(data, "late")
    deadline = time.monotonic() + 10
    while True:
        status, _, _ = d.post("/server/v4", event("late-1"), late["write_key"])
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200
    assert d.stop() == 0


def test_key_removed_while_running_is_refused(data):
    """A key in use (so remembered as verified) that is deleted from
    state.db is refused once the daemon reloads its keys; the tenant's other
    keys and other tenants' keys keep working."""
    t = create_tenant(data)
    other = create_tenant(data, "other")
    d = Daemon(data)
    for i in range(3):
        status, _, answer = d.post("/server/v4", event("before-%d" % i), t["write_key"])
        assert status == 200, answer
    db = sqlite3.connect(os.path.join(data, "state.db"))
    db.execute("DELETE FROM api_keys WHERE tenant_id = ? AND kind = 'write'", (t["id"],))
    db.commit()
    db.close()
    deadline = time.monotonic() + 10
    while True:
        status, _, answer = d.post("/server/v4", event("after"), t["write_key"])
        if status == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 401 and "invalid write key" in json.loads(answer)["message"], answer
    status, _, answer = d.post("/server/v4", event("other-1"), other["write_key"])
    assert status == 200, answer
    status, answer = d.get_json("/v1/settings", t["admin_key"])
    assert status == 200, answer
    assert d.stop() == 0
    assert t["write_key"][7:] not in d.stderr()


def test_batch_reports_rejected_indexes(data):
    t = create_tenant(data)
    d = Daemon(data)
    bad_ts = event("b2")
    bad_ts["timestamp"] = "yesterday"
    no_user = event("b4")
    del no_user["user_id"]
    events = [event("b0"), event("b1"), bad_ts, event("b3"), no_user, "not an object"]
    status, _, answer = d.post("/server/v4/batch", {"events": events}, t["write_key"])
    assert status == 200, answer
    a = json.loads(answer)
    assert a["success"] is True and a["accepted"] == 3 and a["rejected"] == 3, a
    assert [(e["index"], e["field"]) for e in a["errors"]] == [(2, "timestamp"), (4, "user_id"),
                                                               (5, "")], a
    assert d.stop() == 0
    recs = dump(data)
    assert len(recs) == 1 and recs[0]["kind"] == "batch"  # one append for the request
    # The whole body is kept, so the pipeline can report the rejected items too.
    assert json.loads(recs[0]["body"])["events"] == events


def test_batch_envelope_errors(data):
    t = create_tenant(data)
    d = Daemon(data)
    cases = [({"event": []}, "events", "missing"),
             ({"events": {}}, "events", "expected array"),
             ({"events": []}, "events", "empty"),
             ({"events": [event("x%d" % i) for i in range(501)]}, "events", "at most 500"),
             ([event("x")], "", "expected a JSON object")]
    for body, field, words in cases:
        status, _, answer = d.post("/server/v4/batch", body, t["write_key"])
        err = json.loads(answer)
        assert status == 400 and err.get("field", "") == field and words in err["message"], err
    status, _, answer = d.post("/server/v4/batch",
                               {"events": [event("y%d" % i) for i in range(500)]}, t["write_key"])
    assert status == 200 and json.loads(answer)["accepted"] == 500
    assert d.stop() == 0
    assert len(dumped_event_ids(data)) == 500


def test_unknown_paths_and_methods(data):
    create_tenant(data)
    d = Daemon(data)
    status, _, answer = d.request("GET", "/nope")
    assert status == 404 and json.loads(answer)["error"] == "not_found"
    status, _, answer = d.request("GET", "/server/v4")
    assert status == 405 and json.loads(answer)["error"] == "method_not_allowed"
    status, _, answer = d.request("POST", "/healthz")
    assert status == 405
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
