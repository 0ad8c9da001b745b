"""The processing pipeline through the real daemon: events become
processed, a resent id is a duplicate, bad items of a batch are failed
events with their index and reason, replay after a settings change
processes them exactly once, events not yet reached are `accepted`,
registration can be required, and every answer is tenant-scoped."""

import json
import os
import time

from harness import (Daemon, admin, create_tenant, event, iso_now, raw_request, read_response, run,
                     tallyd, wait_for)


def test_processed_and_duplicate(data):
    t = create_tenant(data)
    d = Daemon(data)
    ev = event("p-1", user="u-7", amount=349.5, city="BLR")
    assert d.post("/server/v4", json.dumps(ev), t["write_key"])[0] == 200
    assert d.post("/server/v4/batch", {"events": [event("p-2", user="u-7")]}, t["write_key"])[0] == 200
    d.wait_processed()
    status, e = d.get_json("/v1/events/p-1", t["admin_key"])
    assert status == 200 and e["status"] == "processed" and e["duplicates"] == 0, e
    got = e["event"]
    assert (got["event_id"], got["event_name"], got["user_id"], got["source"]) == \
        ("p-1", "order_placed", "u-7", "server")
    assert got["properties"] == {"amount": 349.5, "city": "BLR"} and got["kind"] == "track"
    assert got["timestamp"] == ev["timestamp"]
    # Sent again (alone and inside a batch): a duplicate, never applied twice.
    assert d.post("/server/v4", json.dumps(ev), t["write_key"])[0] == 200
    assert d.post("/server/v4/batch", {"events": [ev]}, t["write_key"])[0] == 200
    d.wait_processed()
    status, e = d.get_json("/v1/events/p-1", t["admin_key"])
    assert e["status"] == "duplicate" and e["duplicates"] == 2 and e["last_duplicate_at"], e
    status, u = d.get_json("/v1/users/u-7/events", t["admin_key"])
    assert [x["event_id"] for x in u["events"]] == ["p-2", "p-1"]  # newest first, once each
    m = d.metrics()
    assert m['tally_pipeline_events_total{result="processed"}'] == 2
    assert m['tally_pipeline_events_total{result="duplicate"}'] == 2
    assert d.stop() == 0


def test_lookups_after_restart_and_one_pipeline_per_data_dir(data):
    """Processed events are found again after a restart (the event index is
    rebuilt from state.db), dedupe holds across it, and no second process
    (`pipeline run` or another daemon) works on the same data directory."""
    t = create_tenant(data)
    d = Daemon(data)
    evs = [event("rs-%d" % i, user="rs-u%d" % (i % 3)) for i in range(30)]
    assert d.post("/server/v4/batch", {"events": evs}, t["write_key"])[0] == 200
    d.wait_processed()
    m = d.metrics()
    assert m['tally_event_index_entries{kind="event"}'] == 30
    assert m['tally_event_index_entries{kind="user"}'] == 3
    assert m["tally_event_index_bytes"] > 0
    # The daemon's pipeline holds state.db.lock: `pipeline run` is refused.
    r = tallyd("pipeline", "run", "--data", data, check=False)
    assert r.returncode != 0 and "another tallyd process" in r.stderr, r.stderr
    # So is a second daemon, before it reads (or repairs) anything.
    r = tallyd("serve", "--listen", "127.0.0.1:0", data=data, check=False, timeout=20)
    assert r.returncode == 1 and "another tallyd process" in r.stderr, r.stderr
    assert d.stop() == 0

    d = Daemon(data)
    wait_for(lambda: d.metrics().get('tally_event_index_entries{kind="event"}') == 30,
             what="the event index loaded at start")
    status, e = d.get_json("/v1/events/rs-7", t["admin_key"])
    assert status == 200 and e["status"] == "processed", e
    status, u = d.get_json("/v1/users/rs-u1/events", t["admin_key"])
    assert [x["event_id"] for x in u["events"]] == ["rs-%d" % i for i in range(28, 0, -3)]
    assert d.post("/server/v4", json.dumps(evs[7]), t["write_key"])[0] == 200
    d.wait_processed()
    assert d.get_json("/v1/events/rs-7", t["admin_key"])[1]["status"] == "duplicate"
    assert d.stop() == 0
    # With no daemon running, `pipeline run` may take the lock.
    r = tallyd("pipeline", "run", "--data", data, check=False)
    assert r.returncode == 0, r.stderr


def test_batch_with_bad_items_and_replay_after_fix(data):
    t = create_tenant(data)
    d = Daemon(data)
    old = event("b-old", ts=iso_now(-40 * 86400))   # past the 30-day horizon
    future = event("b-future", ts=iso_now(3 * 86400))  # more than a day ahead
    deep = event("b-deep", nest={"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}})
    events = [event("b-0"), old, event("b-2"), future, deep, event("b-5")]
    status, _, answer = d.post("/server/v4/batch", {"events": events}, t["write_key"])
    assert status == 200 and json.loads(answer)["accepted"] == 6  # all pass the fast checks
    d.wait_processed()
    status, page = d.get_json("/v1/failed-events", t["admin_key"])
    rows = {r["event_id"]: r for r in page["failed_events"]}
    assert set(rows) == {"b-old", "b-future", "b-deep"}, page
    assert (rows["b-old"]["index"], rows["b-old"]["reason"]) == (1, "timestamp_too_old")
    assert (rows["b-future"]["index"], rows["b-future"]["reason"]) == (3, "timestamp_in_future")
    assert (rows["b-deep"]["index"], rows["b-deep"]["reason"]) == (4, "too_large")
    assert rows["b-old"]["item"] == old and rows["b-old"]["status"] == "failed"
    for good in ("b-0", "b-2", "b-5"):
        assert d.get_json("/v1/events/" + good, t["admin_key"])[1]["status"] == "processed"
    status, e = d.get_json("/v1/events/b-old", t["admin_key"])
    assert e["status"] == "failed" and e["reason"] == "timestamp_too_old" and "horizon" in e["message"]
    # Filters.
    status, only = d.get_json("/v1/failed-events?reason=timestamp_in_future", t["admin_key"])
    assert [r["event_id"] for r in only["failed_events"]] == ["b-future"]
    status, err = d.get_json("/v1/failed-events?reason=nonsense", t["admin_key"])
    assert status == 400 and err["field"] == "reason"
    # The tenant widens its horizon; replaying processes the old event once.
    status, s = d.send_json("PUT", "/v1/settings", {"timestamp_horizon_seconds": 90 * 86400},
                            t["admin_key"])
    assert status == 200 and s["timestamp_horizon_seconds"] == 90 * 86400
    status, r = d.send_json("POST", "/v1/failed-events/replay", {"reason": "timestamp_too_old"},
                            t["admin_key"])
    assert status == 200 and r["replaying"] == 1, r
    d.wait_processed()
    status, e = d.get_json("/v1/events/b-old", t["admin_key"])
    assert e["status"] == "processed" and e["index"] == 1, e
    # Replaying it again (by id) does nothing: it is no longer failed.
    status, r2 = d.send_json("POST", "/v1/failed-events/replay",
                             {"ids": [rows["b-old"]["id"]]}, t["admin_key"])
    assert status == 200 and r2["replaying"] == 0
    d.wait_processed()
    assert d.get_json("/v1/events/b-old", t["admin_key"])[1]["duplicates"] == 0
    status, all_rows = d.get_json("/v1/failed-events?status=all", t["admin_key"])
    statuses = {r["event_id"]: r["status"] for r in all_rows["failed_events"]}
    assert statuses == {"b-old": "replayed", "b-future": "failed", "b-deep": "failed"}
    assert d.stop() == 0


def test_replay_still_failing_counts_attempts(data):
    t = create_tenant(data)
    d = Daemon(data)
    d.post("/server/v4", json.dumps(event("f-1", ts=iso_now(3 * 86400))), t["write_key"])
    d.wait_processed()
    fid = d.get_json("/v1/failed-events", t["admin_key"])[1]["failed_events"][0]["id"]
    status, r = d.send_json("POST", "/v1/failed-events/replay", {"ids": [fid]}, t["admin_key"])
    assert r["replaying"] == 1
    d.wait_processed()
    row = d.get_json("/v1/failed-events", t["admin_key"])[1]["failed_events"][0]
    assert row["status"] == "failed" and row["attempts"] == 2
    assert d.stop() == 0


def test_accepted_until_the_pipeline_reaches_it(data):
    t = create_tenant(data)
    d = Daemon(data, "--no-pipeline")
    assert d.post("/server/v4", json.dumps(event("waiting-1")), t["write_key"])[0] == 200
    status, e = d.get_json("/v1/events/waiting-1", t["admin_key"])
    assert status == 200 and e["status"] == "accepted" and e["offset"] == 0, e
    status, e = d.get_json("/v1/events/never-sent", t["admin_key"])
    assert status == 404 and e["error"] == "not_found"
    assert d.stop() == 0
    d = Daemon(data)  # with the pipeline: it catches up on start
    d.wait_processed()
    assert d.get_json("/v1/events/waiting-1", t["admin_key"])[1]["status"] == "processed"
    assert d.stop() == 0


def test_require_registration(data):
    t = create_tenant(data)
    d = Daemon(data)
    status, _ = d.send_json("PUT", "/v1/settings", {"require_registration": True}, t["admin_key"])
    assert status == 200
    d.post("/server/v4", json.dumps(event("r-1", user="stranger")), t["write_key"])
    d.wait_processed()
    status, e = d.get_json("/v1/events/r-1", t["admin_key"])
    assert e["status"] == "failed" and e["reason"] == "unknown_user", e
    status, u = d.send_json("PUT", "/v1/users/stranger", {"plan": "gold"}, t["admin_key"])
    assert status == 400 and u["field"] == "plan", u  # attributes go in "attributes"
    status, u = d.send_json("PUT", "/v1/users/stranger", {"attributes": {"plan": "gold"}},
                            t["admin_key"])
    assert status == 201 and u == {"user_id": "stranger", "registered": True, "created": True}
    reg = {"name": "S", "email": "s@example.com", "phone": "+91 98765 43210",
           "profile": {"timezone": "Asia/Kolkata", "country": "IN", "city": "Pune"},
           "attributes": {"plan": "platinum"}}
    status, u = d.send_json("PUT", "/v1/users/stranger", reg, t["admin_key"])
    assert status == 200 and u["created"] is False
    status, u = d.get_json("/v1/users/stranger", t["admin_key"])
    assert u["registered"] is True and u["attributes"] == {"plan": "platinum"}, u
    assert u["name"] == "S" and u["profile"]["city"] == "Pune" and u["segments"] == [], u
    for bad, field in [({"email": "nope"}, "email"), ({"phone": "x1"}, "phone"),
                       ({"profile": {"timezone": "Mars/Base"}}, "profile.timezone"),
                       ({"attributes": []}, "attributes")]:
        status, e = d.send_json("PUT", "/v1/users/stranger", bad, t["admin_key"])
        assert status == 400 and e["field"] == field, (bad, e)
    d.send_json("POST", "/v1/failed-events/replay", {"reason": "unknown_user"}, t["admin_key"])
    d.wait_processed()
    assert d.get_json("/v1/events/r-1", t["admin_key"])[1]["status"] == "processed"
    assert d.stop() == 0


def test_users_are_created_by_events(data):
    t = create_tenant(data)
    d = Daemon(data)
    d.post("/server/v4", json.dumps(event("c-1", user="new-user")), t["write_key"])
    d.wait_processed()
    status, u = d.get_json("/v1/users/new-user", t["admin_key"])
    assert status == 200 and u["registered"] is False
    assert d.get_json("/v1/users/nobody", t["admin_key"])[0] == 404
    status, e = d.get_json("/v1/users/new-user/events?limit=0", t["admin_key"])
    assert status == 400 and e["field"] == "limit"
    assert d.stop() == 0


def test_management_api_is_tenant_scoped(data):
    a = create_tenant(data, "a")
    b = create_tenant(data, "b")
    d = Daemon(data)
    d.post("/server/v4", json.dumps(event("iso-1", user="shared-name")), a["write_key"])
    d.post("/server/v4", json.dumps(event("iso-bad", ts="2001-01-01T00:00:00Z")), a["write_key"])
    d.wait_processed()
    assert d.get_json("/v1/events/iso-1", a["admin_key"])[0] == 200
    assert d.get_json("/v1/events/iso-1", b["admin_key"])[0] == 404
    assert d.get_json("/v1/users/shared-name", b["admin_key"])[0] == 404
    assert d.get_json("/v1/failed-events", b["admin_key"])[1]["failed_events"] == []
    # B cannot replay A's failed event by id.
    fid = d.get_json("/v1/failed-events", a["admin_key"])[1]["failed_events"][0]["id"]
    assert d.send_json("POST", "/v1/failed-events/replay", {"ids": [fid]}, b["admin_key"])[1][
        "replaying"] == 0
    # Keys: a write key is not an admin key; no key is no answer.
    status, _, _ = d.request("GET", "/v1/events/iso-1", headers=admin(a["write_key"]))
    assert status == 401
    assert d.request("GET", "/v1/events/iso-1")[0] == 401
    assert d.stop() == 0


def test_failed_events_pages_and_settings_errors(data):
    t = create_tenant(data)
    d = Daemon(data)
    bad = [event("pg-%d" % i, ts="2001-01-01T00:00:00Z") for i in range(7)]
    d.post("/server/v4/batch", {"events": bad}, t["write_key"])
    d.wait_processed()
    seen, cursor = [], None
    while True:
        path = "/v1/failed-events?limit=3" + ("&cursor=" + cursor if cursor else "")
        status, page = d.get_json(path, t["admin_key"])
        assert status == 200
        seen += [r["event_id"] for r in page["failed_events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["pg-%d" % i for i in reversed(range(7))]
    for body, field in [({"dedupe_window_seconds": -1}, "dedupe_window_seconds"),
                        ({"require_registration": "yes"}, "require_registration"),
                        ({"colour": "blue"}, "colour")]:
        status, e = d.send_json("PUT", "/v1/settings", body, t["admin_key"])
        assert status == 400 and e["field"] == field, e
    status, s = d.get_json("/v1/settings", t["admin_key"])
    assert s == {"dedupe_window_seconds": 604800, "timestamp_horizon_seconds": 2592000,
                 "require_registration": False}
    assert d.stop() == 0


def test_large_answers_reach_slow_readers_and_pages_stay_bounded(data):
    """Regression: the linger timer started before the last answer was sent,
    so a client that read slowly lost the end of a large answer; and a page
    of failed events could grow to hundreds of MB."""
    t = create_tenant(data)
    d = Daemon(data)
    big = "y" * 300_000
    bad = [event("big-%d" % i, ts="2001-01-01T00:00:00Z", blob=big) for i in range(20)]
    for i in range(0, 20, 2):
        assert d.post("/server/v4/batch", {"events": bad[i:i + 2]}, t["write_key"])[0] == 200
    d.wait_processed()
    s = d.sock(timeout=30)
    s.sendall(raw_request("GET", "/v1/failed-events?limit=500",
                          headers={"Authorization": "Bearer " + t["admin_key"],
                                   "Connection": "close"}))
    time.sleep(3)  # longer than the linger time, while the answer waits
    status, _, body, _ = read_response(s)
    page = json.loads(body)  # the whole answer arrived
    assert status == 200 and 0 < len(page["failed_events"]) < 20, len(page["failed_events"])
    assert page["next_cursor"] is not None and len(body) < 6 << 20
    seen = len(page["failed_events"])
    while page["next_cursor"] is not None:
        status, page = d.get_json("/v1/failed-events?limit=500&cursor=" + page["next_cursor"],
                                  t["admin_key"])
        seen += len(page["failed_events"])
    assert seen == 20
    # Replay ids must be whole numbers in range (1e19 once replayed another item).
    for ids in ([1e19], [1.5], [-3], ["7"]):
        status, e = d.send_json("POST", "/v1/failed-events/replay", {"ids": ids}, t["admin_key"])
        assert status == 400 and e["field"] == "ids", (ids, e)
    assert d.stop() == 0


def test_lag_metrics(data):
    t = create_tenant(data)
    d = Daemon(data, "--no-pipeline")
    for i in range(5):
        d.post("/server/v4", json.dumps(event("lag-%d" % i)), t["write_key"])
    assert d.stop() == 0
    d = Daemon(data)
    d.wait_processed()
    m = d.metrics()
    assert m["tally_pipeline_records_total"] == 5 and m["tally_pipeline_lag_records"] == 0
    assert m["tally_pipeline_running"] == 1
    wait_for(lambda: 'msg="pipeline open" position=0' in d.stderr() and
             "backlog_records=5" in d.stderr(), timeout=10, what="the pipeline's start lines")
    assert d.stop() == 0


def test_retention_deletes_processed_segments_and_prunes_dedupe(data):
    t = create_tenant(data)
    d = Daemon(data, "--segment-size", "4k", "--log-retention", "1s",
               "--retention-interval", "300ms")
    d.send_json("PUT", "/v1/settings", {"dedupe_window_seconds": 1}, t["admin_key"])
    for i in range(100):
        assert d.post("/server/v4", json.dumps(event("ret-%d" % i)), t["write_key"])[0] == 200
    d.wait_processed()
    log_dir = os.path.join(data, "log")
    before = sorted(f for f in os.listdir(log_dir) if f.endswith(".log"))
    assert len(before) >= 4, before
    wait_for(lambda: len([f for f in os.listdir(log_dir) if f.endswith(".log")]) == 1,
             timeout=20, what="old segments to be deleted")
    assert "deleted event log segment past retention" in d.stderr()
    # The dedupe window has passed: the id is forgotten and counts as new.
    wait_for(lambda: d.get_json("/v1/events/ret-0", t["admin_key"])[0] == 404, timeout=20,
             what="the dedupe window to be pruned")
    assert d.post("/server/v4", json.dumps(event("ret-0")), t["write_key"])[0] == 200
    d.wait_processed()
    assert d.get_json("/v1/events/ret-0", t["admin_key"])[1]["status"] == "processed"
    assert d.stop() == 0
    verify = json.loads(tallyd("log", "verify", data=data).stdout)
    assert verify["ok"] is True and verify["first_offset"] > 0, verify


if __name__ == "__main__":
    run(globals())
