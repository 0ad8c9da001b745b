"""Segments: static and event segments over HTTP against the real daemon
(README, "Segments"): definitions, members and pages, CSV upload of 1M ids
(the daemon's RSS printed), the original static-segment API, attribute and
behaviour conditions, entry/exit outbox rows, rolling-window expiry with the
test clock, campaign eligibility before and after entry, tenant isolation."""

import json
import os
import sqlite3
import time

from harness import TALLYD, Daemon, admin, create_tenant, event, iso_now, run, wait_for

# The ASan build is several times slower: it uploads a fifth of the ids.
ASAN = "asan" in os.path.basename(TALLYD)

DAY = 86400000


def call(d, method, path, key, body=None, headers=None, timeout=10):
    h = admin(key)
    h.update(headers or {})
    status, _, answer = d.request(method, path, body, h, timeout)
    return status, (json.loads(answer) if answer else None)


def members(d, key, seg):
    out, cursor = [], ""
    while True:
        status, page = call(d, "GET", "/v1/segments/%s/users?limit=2&cursor=%s" % (seg, cursor), key)
        assert status == 200, page
        out += [u["user_id"] for u in page["users"]]
        if page["next_cursor"] is None:
            return out
        cursor = page["next_cursor"]


def outbox(data, kind):
    db = sqlite3.connect(os.path.join(data, "state.db"))
    try:
        return [json.loads(p) for (p,) in db.execute(
            "SELECT payload FROM outbox WHERE kind = ? ORDER BY id", (kind,))]
    finally:
        db.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_static_segment_api_and_isolation(data):
    a = create_tenant(data, "a")
    b = create_tenant(data, "b")
    d = Daemon(data)
    key = a["admin_key"]
    status, s = call(d, "POST", "/v1/segments", key, {"id": "vip", "name": "VIP", "type": "static"})
    assert status == 201 and s["type"] == "static" and s["members"] == 0, s
    assert call(d, "POST", "/v1/segments", key, {"id": "vip", "type": "static"})[0] == 409
    status, e = call(d, "POST", "/v1/segments", key, {"id": "Bad!", "type": "static"})
    assert status == 400 and e["field"] == "id", e
    status, e = call(d, "POST", "/v1/segments", key, {"id": "x", "type": "event"})
    assert status == 400 and e["field"] == "conditions", e
    status, r = call(d, "POST", "/v1/segments/vip/users", key, {"user_ids": ["u3", "u1", "u2", "u1"]})
    assert status == 200 and r == {"added": 3, "total": 3}, r
    assert members(d, key, "vip") == ["u1", "u2", "u3"]
    status, r = call(d, "DELETE", "/v1/segments/vip/users", key, {"user_ids": ["u2"]})
    assert status == 200 and r["removed"] == 1 and r["total"] == 2, r
    status, u = call(d, "GET", "/v1/users/u1", key)
    # A user only named in a static segment is not a user yet.
    assert status == 404, u
    # Tenant b sees nothing of a's.
    assert call(d, "GET", "/v1/segments/vip", b["admin_key"])[0] == 404
    assert call(d, "GET", "/v1/segments", b["admin_key"])[1] == {"segments": []}
    assert call(d, "POST", "/v1/segments/vip/users", b["admin_key"], {"user_ids": ["x"]})[0] == 404
    status, s = call(d, "PUT", "/v1/segments/vip", key, {"id": "vip", "name": "V", "type": "static"})
    assert status == 200 and s["name"] == "V" and s["members"] == 2, s
    # The body's id may be left out (the path's is used), but not differ.
    status, s = call(d, "PUT", "/v1/segments/vip", key, {"name": "W", "type": "static"})
    assert status == 200 and s["id"] == "vip" and s["name"] == "W", s
    status, e = call(d, "PUT", "/v1/segments/vip", key, {"id": "vap", "type": "static"})
    assert status == 400 and e["field"] == "id", e
    status, e = call(d, "PUT", "/v1/segments/vip", key, {"id": "vip", "type": "event", "conditions": [
        {"path": "plan", "op": "eq", "value": "gold"}]})
    assert status == 409 and e["field"] == "type", e
    assert call(d, "DELETE", "/v1/segments/vip", key)[0] == 204
    assert call(d, "GET", "/v1/segments/vip/users", key)[0] == 404
    assert d.stop() == 0


def test_csv_upload_of_a_million_ids(data):
    t = create_tenant(data)
    key = t["admin_key"]
    # ASan keeps freed memory in quarantine (256 MB by default), which
    # would be measured as the daemon's; keep it small for this measure.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                 "quarantine_size_mb=16"]))
    d = Daemon(data, "--max-body", "4m", env=env)
    call(d, "POST", "/v1/segments", key, {"id": "big", "type": "static"})
    rss0 = rss_kb(d.proc.pid)
    total, n, peak = (200000 if ASAN else 1000000), 0, 0
    chunk = total // 4  # about 3.4 MB a request at 1M, under --max-body 4m
    while n < total:
        rows = ["user_id"] + ["user-%07d" % i for i in range(n, min(total, n + chunk))]
        body = "\r\n".join(rows) + "\n"
        status, r = call(d, "POST", "/v1/segments/big/users", key, body.encode(),
                         {"Content-Type": "text/csv"}, timeout=120)
        assert status == 200, r
        n += chunk
        peak = max(peak, rss_kb(d.proc.pid))
    assert r == {"added": chunk, "total": total}, r
    status, s = call(d, "GET", "/v1/segments/big", key)
    assert s["members"] == total
    print("csv upload: %d ids in %d requests, daemon RSS %d kB before, peak %d kB"
          % (total, total // chunk, rss0, peak), flush=True)
    assert peak - rss0 < 200 * 1024, (rss0, peak)  # bounded by the body, not the file
    status, e = call(d, "POST", "/v1/segments/big/users", key, b'ok\n"broken\n',
                     {"Content-Type": "text/csv"})
    assert status == 400 and "line 2" in e["message"], e
    assert d.stop() == 0


def test_original_static_segment_api(data):
    t = create_tenant(data)
    d = Daemon(data)
    key, wk = t["admin_key"], t["write_key"]
    call(d, "POST", "/v1/campaigns", key, {"id": "promo", "name": "Promo", "segment": "promo-users",
                                          "activities": [{"id": "o", "event": "order_placed",
                                                          "measure": "count", "target": 1}]})
    call(d, "POST", "/v1/campaigns", key, {"id": "open", "name": "Open", "activities": [
        {"id": "o", "event": "order_placed", "measure": "count", "target": 1}]})

    def orig(method, path, body, k=wk):
        status, _, answer = d.request(method, path, json.dumps(body),
                                      {"X-API-KEY": k, "Content-Type": "application/json"})
        return status, json.loads(answer)

    assert orig("POST", "/segment/promo/user/status", {"userId": "u1"}) == \
        (200, {"success": True, "data": {"isPresent": False}})
    assert orig("POST", "/segment/promo/user/add", {"userId": "u1"}) == (200, {"success": True})
    assert orig("POST", "/segment/promo/user/status", {"userId": "u1"}) == \
        (200, {"success": True, "data": {"isPresent": True}})
    assert members(d, key, "promo-users") == ["u1"]
    assert orig("DELETE", "/segment/promo/user/delete", {"userId": "u1"}) == (200, {"success": True})
    assert orig("POST", "/segment/promo/user/status", {"userId": "u1"})[1]["data"]["isPresent"] is False
    assert orig("POST", "/segment/promo/user/add", {"userId": "u1"}, k=key)[0] == 401
    assert orig("POST", "/segment/promo/user/add", {})[1]["field"] == "userId"
    assert orig("POST", "/segment/nope/user/add", {"userId": "u1"})[0] == 404
    assert orig("POST", "/segment/open/user/add", {"userId": "u1"})[0] == 409
    assert d.stop() == 0


def test_event_segment_conditions_entry_and_exit(data):
    t = create_tenant(data)
    d = Daemon(data)
    key, wk = t["admin_key"], t["write_key"]
    status, s = call(d, "POST", "/v1/segments", key, {
        "id": "buyers", "type": "event", "match": "all", "conditions": [
            {"event": "order_placed", "where": [{"path": "amount", "op": "gte", "value": 100}],
             "measure": "count", "op": "gte", "value": 2},
            {"event": "order_placed", "measure": "sum", "property": "amount", "op": "gte",
             "value": 300}]})
    assert status == 201 and s["conditions"][1]["within"] is None, s
    status, s = call(d, "POST", "/v1/segments", key, {
        "id": "gold", "type": "event", "match": "any",
        "conditions": [{"path": "plan", "op": "eq", "value": "gold"}]})
    assert status == 201, s
    status, e = call(d, "POST", "/v1/segments", key, {"id": "x", "type": "event", "conditions": [
        {"event": "a", "measure": "count", "op": "gte", "value": 1, "within": "3x"}]})
    assert status == 400 and e["field"] == "conditions[0].within", e
    d.post("/server/v4", json.dumps(event("e1", user="u1", amount=150)), wk)
    d.post("/server/v4", json.dumps(event("e2", user="u1", amount=50)), wk)
    d.wait_processed()
    assert members(d, key, "buyers") == []
    d.post("/server/v4", json.dumps(event("e3", user="u1", amount=120)), wk)
    d.wait_processed()
    assert members(d, key, "buyers") == ["u1"]
    status, u = call(d, "GET", "/v1/users/u1", key)
    assert [s["id"] for s in u["segments"]] == ["buyers"], u
    # Attribute conditions follow profile updates (Segment identify).
    ident = {"type": "identify", "userId": "u1", "messageId": "i1",
             "timestamp": iso_now(-60), "traits": {"plan": "gold"}}
    d.post("/segment/v4", json.dumps(ident), wk)
    d.wait_processed()
    assert members(d, key, "gold") == ["u1"]
    ident.update(messageId="i2", timestamp=iso_now(-30), traits={"plan": "free"})
    d.post("/segment/v4", json.dumps(ident), wk)
    d.wait_processed()
    assert members(d, key, "gold") == []
    entered = outbox(data, "segment_entered")
    exited = outbox(data, "segment_exited")
    assert [(e["segmentId"], e["userId"]) for e in entered] == [("buyers", "u1"), ("gold", "u1")]
    assert [(e["segmentId"], e["userId"]) for e in exited] == [("gold", "u1")]
    m = d.metrics()
    assert m["tally_segments"] == 2, m
    assert m["tally_segments_entered_total"] == 2 and m["tally_segments_exited_total"] == 1, m
    assert m["tally_segments_judged_total"] >= 5, m
    assert m["tally_segments_cache_entries"] >= 1 and m["tally_segments_cache_bytes"] > 0, m
    assert m["tally_segments_decoded_bytes"] > 0, m  # batches decoded users
    assert d.stop() == 0


def test_attribute_conditions_see_each_change(data):
    """Judging reads the user's attributes as they are now, whoever changed
    them: a PUT /v1/users between two events, or a profile update."""
    t = create_tenant(data)
    d = Daemon(data)
    key, wk = t["admin_key"], t["write_key"]
    status, s = call(d, "POST", "/v1/segments", key, {
        "id": "gold-buyers", "type": "event", "conditions": [
            {"path": "plan", "op": "eq", "value": "gold"},
            {"event": "order_placed", "measure": "count", "op": "gte", "value": 1}]})
    assert status == 201, s
    status, _ = call(d, "PUT", "/v1/users/u2", key, {"attributes": {"plan": "free"}})
    assert status == 201
    d.post("/server/v4", json.dumps(event("a1", user="u2", amount=10)), wk)
    d.wait_processed()
    assert members(d, key, "gold-buyers") == []
    status, _ = call(d, "PUT", "/v1/users/u2", key, {"attributes": {"plan": "gold"}})
    assert status == 200
    d.post("/server/v4", json.dumps(event("a2", user="u2", amount=10)), wk)
    d.wait_processed()
    assert members(d, key, "gold-buyers") == ["u2"]
    ident = {"type": "identify", "userId": "u2", "messageId": "i9",
             "timestamp": iso_now(-5), "traits": {"plan": "free"}}
    d.post("/segment/v4", json.dumps(ident), wk)
    d.wait_processed()
    assert members(d, key, "gold-buyers") == []
    assert d.stop() == 0


def test_rolling_window_expires_with_the_clock(data):
    t = create_tenant(data)
    d = Daemon(data)
    key, wk = t["admin_key"], t["write_key"]
    call(d, "POST", "/v1/segments", key, {"id": "recent", "type": "event", "conditions": [
        {"event": "order_placed", "measure": "count", "op": "gte", "value": 2, "within": "30d"}]})
    now = int(time.time() * 1000)
    d.request("POST", "/debug/clock?now_ms=%d" % now)
    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ms / 1000))
    d.post("/server/v4", json.dumps(event("w1", user="u1", ts=iso(now - 20 * DAY))), wk)
    d.post("/server/v4", json.dumps(event("w2", user="u1", ts=iso(now - 5 * DAY))), wk)
    # An event already older than the window never counts.
    d.post("/server/v4", json.dumps(event("w0", user="u2", ts=iso(now - 40 * DAY))), wk)
    d.post("/server/v4", json.dumps(event("w3", user="u2", ts=iso(now - DAY))), wk)
    d.wait_processed()
    assert members(d, key, "recent") == ["u1"]
    # 11 days on, the event of 20 days ago is out of the window: u1 leaves
    # without any new event.
    d.request("POST", "/debug/clock?now_ms=%d" % (now + 11 * DAY))
    wait_for(lambda: members(d, key, "recent") == [], what="u1 to leave")
    assert [e["userId"] for e in outbox(data, "segment_exited")] == ["u1"]
    d.request("POST", "/debug/clock?now_ms=0")
    assert d.stop() == 0


def test_campaign_eligibility_before_and_after_entry(data):
    t = create_tenant(data)
    d = Daemon(data)
    key, wk = t["admin_key"], t["write_key"]
    act = [{"id": "o", "event": "order_placed", "measure": "count", "target": 10}]
    call(d, "POST", "/v1/segments", key, {"id": "vip", "type": "static"})
    call(d, "POST", "/v1/campaigns", key, {"id": "c", "name": "C", "segment": "vip",
                                          "activities": act})
    call(d, "POST", "/v1/campaigns", key, {"id": "cb", "name": "CB", "segment": "vip",
                                          "count_before_entry": True, "activities": act})
    d.post("/server/v4", json.dumps(event("b1", user="u1")), wk)
    d.post("/server/v4", json.dumps(event("b2", user="u1")), wk)
    d.wait_processed()
    assert call(d, "GET", "/v1/users/u1/campaigns/c", key)[0] == 404  # not a member
    time.sleep(0.01)
    call(d, "POST", "/v1/segments/vip/users", key, {"user_ids": ["u1"]})
    d.post("/server/v4", json.dumps(event("a1", user="u1")), wk)
    d.post("/server/v4", json.dumps(event("x1", user="u2")), wk)
    d.wait_processed()
    status, p = call(d, "GET", "/v1/users/u1/campaigns/c", key)
    assert status == 200 and p["activities"][0]["value"] == 1, p  # only after entry
    status, p = call(d, "GET", "/v1/users/u1/campaigns/cb", key)
    assert status == 200 and p["activities"][0]["value"] == 3, p  # before entry too
    assert call(d, "GET", "/v1/users/u2/campaigns/c", key)[0] == 404
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
