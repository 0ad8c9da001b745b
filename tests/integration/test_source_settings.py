"""Per-tenant source settings through the real daemon (GET/PUT
/v1/sources/{source}, admin key): every source answers its settings
document; PUT replaces it, refuses bad documents with 400 naming the
field, and never shows a secret back; Basic pairs configured for MoEngage,
CleverTap and the tracking API are accepted at ingest (a wrong password is
401 and stores nothing; a user name belongs to one tenant per source: 409);
a mapping override changes how new events are read, and a failed item
replayed after the mapping is set is processed; MoEngage's event_code
choice and CleverTap's targetId names apply; one tenant never sees or
uses another's settings; the secrets are not in the daemon's output.
Also item 7 of the sources issue: each source answers as its sender's
retry rules need (200 with bad items dead-lettered for the batch sources,
400 for a Segment or server API body that can never succeed)."""

import base64
import datetime
import json
import time

from harness import Daemon, create_tenant, iso_now, run, wait_for

CT = {"Content-Type": "application/json"}
SOURCES = ["server", "segment", "moengage", "clevertap", "webengage", "track"]


def basic(user, password=""):
    raw = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return dict(CT, Authorization="Basic " + raw)


def put(d, t, source, doc):
    return d.send_json("PUT", "/v1/sources/" + source, doc, t["admin_key"])


def moe_event(uuid, uid="u-moe", name="Order Placed", code="order_placed", **extra):
    ev = {"event_name": name, "event_code": code, "event_uuid": uuid,
          "event_time": int(time.time()) - 60, "uid": uid, "event_attributes": {"amount": 5}}
    ev.update(extra)
    return {"app_name": "App", "source": "MOENGAGE", "events": [ev]}


def event_of(d, t, event_id):
    status, e = d.get_json("/v1/events/" + event_id, t["admin_key"])
    assert status == 200, (event_id, e)
    return e


def test_get_put_every_source(data):
    t = create_tenant(data)
    d = Daemon(data)
    defaults = {
        "server": {},
        "segment": {"shared_secret_set": False, "mapping": {}},
        "moengage": {"basic_auth": [], "mapping": {}, "event_name_field": "event_name"},
        "clevertap": {"basic_auth": [], "mapping": {}, "target_names": {}},
        "webengage": {"license_code": None, "secret_set": False, "mapping": {}},
        "track": {"basic_auth": [], "mapping": {}},
    }
    for src in SOURCES:
        status, s = d.get_json("/v1/sources/" + src, t["admin_key"])
        assert status == 200 and s.pop("source") == src and s.pop("updated_at") is None, s
        assert s == defaults[src], (src, s)
    mapping = {"user_id": "/traits/email", "timestamp": "/context/t~1s"}
    docs = {
        "server": ({}, {}),
        "segment": ({"shared_secret": "seg-secret-1", "mapping": mapping},
                    {"shared_secret_set": True, "mapping": mapping}),
        "moengage": ({"basic_auth": [{"username": "moe-a", "password": "moe-pass-1"}],
                      "event_name_field": "event_code", "mapping": {"event_id": "/x"}},
                     {"basic_auth": [{"username": "moe-a", "password_set": True}],
                      "event_name_field": "event_code", "mapping": {"event_id": "/x"}}),
        "clevertap": ({"target_names": {"1700": "Cart Abandoned"},
                       "basic_auth": [{"username": "ct-a", "password": "ct-pass-1"}]},
                      {"target_names": {"1700": "Cart Abandoned"}, "mapping": {},
                       "basic_auth": [{"username": "ct-a", "password_set": True}]}),
        "webengage": ({"license_code": "~lic1", "secret_key": "we-key-1"},
                      {"license_code": "~lic1", "secret_set": True, "mapping": {}}),
        "track": ({"basic_auth": [{"username": "trk-a", "password": "trk-pass-1"}]},
                  {"basic_auth": [{"username": "trk-a", "password_set": True}], "mapping": {}}),
    }
    secrets = ["seg-secret-1", "moe-pass-1", "ct-pass-1", "we-key-1", "trk-pass-1"]
    for src, (doc, want) in docs.items():
        status, s = put(d, t, src, doc)
        assert status == 200, (src, s)
        status, g = d.get_json("/v1/sources/" + src, t["admin_key"])
        assert status == 200 and g == s and g["updated_at"] is not None, (src, g)
        g.pop("source"), g.pop("updated_at")
        assert g == dict(defaults[src], **want), (src, g)
        for x in secrets:
            assert x not in json.dumps(g), (src, x)
    # A GET answer sent back as it is keeps everything, secrets included.
    for src in SOURCES:
        status, g = d.get_json("/v1/sources/" + src, t["admin_key"])
        status, again = put(d, t, src, g)
        assert status == 200, (src, again)
        assert dict(again, updated_at=0) == dict(g, updated_at=0), (src, again)
    # PUT replaces: what is left out is gone.
    status, s = put(d, t, "segment", {})
    assert status == 200 and s["shared_secret_set"] is False and s["mapping"] == {}, s
    # Refused documents name the field; nothing changes.
    bad = [
        ("segment", {"mapping": {"user_id": "traits/email"}}, "mapping.user_id"),
        ("segment", {"mapping": {"user_id": "/a~2"}}, "mapping.user_id"),
        ("segment", {"mapping": {"user_id": 7}}, "mapping.user_id"),
        ("segment", {"mapping": {"email": "/a"}}, "mapping.email"),
        ("segment", {"shared_secret": 5}, "shared_secret"),
        ("segment", {"basic_auth": []}, "basic_auth"),
        ("segment", {"colour": "red"}, "colour"),
        ("segment", [], ""),
        ("server", {"mapping": {"user_id": "/a"}}, "mapping"),
        ("moengage", {"event_name_field": "code"}, "event_name_field"),
        ("moengage", {"basic_auth": [{"username": "a b", "password": "p"}]}, "basic_auth[0]"),
        ("moengage", {"basic_auth": [{"username": "a", "password": 1}]}, "basic_auth[0]"),
        ("clevertap", {"target_names": {"1": 2}}, "target_names.1"),
        ("clevertap", {"target_names": []}, "target_names"),
        ("webengage", {"license_code": "~lic1"}, "secret_key"),
        ("track", {"event_name_field": "event_code"}, "event_name_field"),
    ]
    for src, doc, field in bad:
        before = d.get_json("/v1/sources/" + src, t["admin_key"])[1]
        status, err = put(d, t, src, doc)
        assert status == 400 and err.get("field", "") == field, (src, doc, err)
        assert d.get_json("/v1/sources/" + src, t["admin_key"])[1] == before
    assert d.get_json("/v1/sources/nope", t["admin_key"])[0] == 404
    assert d.get_json("/v1/sources/segment", t["write_key"])[0] == 401
    out = d.stderr() + d.stdout()
    for x in secrets:
        assert x not in out, x
    assert d.stop() == 0


def test_basic_pairs(data):
    t = create_tenant(data)
    other = create_tenant(data, "other")
    d = Daemon(data)
    assert put(d, t, "moengage", {"basic_auth": [{"username": "moe-user",
                                                  "password": "s3cret-moe"}]})[0] == 200
    assert put(d, t, "track", {"basic_auth": [{"username": "trk-user",
                                               "password": "s3cret-trk"}]})[0] == 200
    # The same user name for another tenant and source: 409; another source: fine.
    status, err = put(d, other, "moengage", {"basic_auth": [{"username": "moe-user",
                                                             "password": "x"}]})
    assert status == 409 and err["field"] == "basic_auth[0].username", err
    assert put(d, other, "clevertap", {"basic_auth": [{"username": "moe-user",
                                                       "password": "x"}]})[0] == 200
    ok = basic("moe-user", "s3cret-moe")
    wait_for(lambda: d.request("POST", "/moengage/v4", moe_event("probe-1"), ok)[0] == 200, 10,
             "the Basic pair to apply")
    d.wait_processed()
    log_end = d.metrics()["tally_log_durable_offset_bytes"]
    refused = [
        ("/moengage/v4", basic("moe-user", "wrong"), moe_event("bp-1")),
        ("/moengage/v4", basic("moe-user", ""), moe_event("bp-2")),
        ("/v3/moengage", basic("moe-user", "s3cret-moe!"), moe_event("bp-3")),
        ("/clevertap/v4", basic("moe-user", "s3cret-moe"),  # the other tenant's pair there
         {"targetId": 1, "profiles": [{"identity": "u"}]}),
        ("/moengage/v4", basic("trk-user", "s3cret-trk"), moe_event("bp-4")),  # another source
        ("/v1/track", basic("moe-user", "s3cret-moe"),
         {"event": "E", "userId": "u", "messageId": "bp-5"}),
    ]
    for path, hdr, body in refused:
        status, _, answer = d.request("POST", path, body, hdr)
        assert status == 401, (path, answer)
    assert d.metrics()["tally_log_durable_offset_bytes"] == log_end
    for i in ("bp-1", "bp-2", "bp-3", "bp-4", "bp-5"):
        assert d.get_json("/v1/events/" + i, t["admin_key"])[0] == 404, i
    # Accepted: the pair, and the write key as before.
    assert d.request("POST", "/moengage/v4", moe_event("bp-ok"), ok)[0] == 200
    assert d.request("POST", "/moengage/v4", moe_event("bp-wk"), basic(t["write_key"]))[0] == 200
    wait_for(lambda: d.request("POST", "/v1/track", {"event": "E", "userId": "u",
                                                     "messageId": "bp-trk",
                                                     "timestamp": iso_now()},
                               basic("trk-user", "s3cret-trk"))[0] == 200, 10, "track pair")
    d.wait_processed()
    for i in ("bp-ok", "bp-wk", "bp-trk"):
        assert event_of(d, t, i)["status"] == "processed", i
    # Removing the pair: refused again within a second.
    assert put(d, t, "moengage", {})[0] == 200
    wait_for(lambda: d.request("POST", "/moengage/v4", moe_event("bp-gone"), ok)[0] == 401, 10,
             "the pair's removal to apply")
    out = d.stderr() + d.stdout()
    assert "s3cret-moe" not in out and "s3cret-trk" not in out
    assert d.stop() == 0


def test_mapping_and_replay(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = dict(CT, **{"X-API-KEY": t["write_key"]})
    ts = iso_now(-60)
    # No userId: fails under the default mapping.
    ev = {"type": "track", "event": "Paid", "messageId": "map-1", "timestamp": ts,
          "traits": {"email": "ann@example.com"}, "properties": {"amount": 3}}
    assert d.request("POST", "/segment/v4", ev, key)[0] == 200
    d.wait_processed()
    e = event_of(d, t, "map-1")
    assert e["status"] == "failed" and e["reason"] == "missing_field" and e["field"] == "userId", e
    fid = e["failed_event_id"]
    # The tenant maps user_id to the traits' email.
    status, s = put(d, t, "segment", {"mapping": {"user_id": "/traits/email"}})
    assert status == 200 and s["mapping"] == {"user_id": "/traits/email"}, s
    # A new event is read with it (even though it has a userId of its own).
    ev2 = dict(ev, messageId="map-2", userId="ignored-id",
               traits={"email": "bob@example.com"})
    assert d.request("POST", "/segment/v4", ev2, key)[0] == 200
    # A new event without the mapped field fails naming the pointer.
    ev3 = {"type": "track", "event": "Paid", "messageId": "map-3", "userId": "u", "timestamp": ts}
    assert d.request("POST", "/segment/v4", ev3, key)[0] == 200
    d.wait_processed()
    e2 = event_of(d, t, "map-2")
    assert e2["status"] == "processed" and e2["event"]["user_id"] == "bob@example.com", e2
    e3 = event_of(d, t, "map-3")
    assert e3["status"] == "failed" and e3["field"] == "/traits/email", e3
    assert e3["reason"] == "missing_field", e3
    # The failed item replayed now is processed with the mapping.
    status, r = d.send_json("POST", "/v1/failed-events/replay", {"ids": [fid]}, t["admin_key"])
    assert status == 200 and r["replaying"] == 1, r
    d.wait_processed()
    e = event_of(d, t, "map-1")
    assert e["status"] == "processed" and e["event"]["user_id"] == "ann@example.com", e
    status, u = d.get_json("/v1/users/ann@example.com/events", t["admin_key"])
    assert status == 200 and [x["event_id"] for x in u["events"]] == ["map-1"], u
    # Every field: name, id, time and properties from elsewhere in the item.
    put(d, t, "segment", {"mapping": {"user_id": "/context/who", "event_name": "/properties/act",
                                      "event_id": "/properties/ref",
                                      "timestamp": "/context/when~1ms",
                                      "properties": "/properties/data"}})
    when = int(time.time() * 1000) - 60123
    iso = datetime.datetime.fromtimestamp(when / 1000, datetime.timezone.utc)
    ev4 = {"type": "track", "context": {"who": "cat", "when/ms": when},
           "properties": {"act": "Adopted", "ref": "map-4", "data": {"k": "v"}}}
    assert d.request("POST", "/segment/v4", ev4, key)[0] == 200
    d.wait_processed()
    got = event_of(d, t, "map-4")["event"]
    assert (got["user_id"], got["event_name"], got["timestamp"], got["properties"]) == \
        ("cat", "Adopted", iso.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when % 1000),
         {"k": "v"}), got
    assert d.stop() == 0


def test_moengage_names_and_clevertap_targets(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = dict(CT, **{"X-API-KEY": t["write_key"]})
    assert d.request("POST", "/moengage/v4", moe_event("moe-1"), key)[0] == 200
    assert put(d, t, "moengage", {"event_name_field": "event_code"})[0] == 200
    assert d.request("POST", "/moengage/v4", moe_event("moe-2"), key)[0] == 200
    d.wait_processed()
    one, two = event_of(d, t, "moe-1")["event"], event_of(d, t, "moe-2")["event"]
    assert two["event_name"] == "order_placed" and two["context"]["event_name"] == "Order Placed"
    assert one["context"]["event_code"] == "order_placed"

    assert put(d, t, "clevertap", {"target_names": {"1700": "Cart Abandoned"}})[0] == 200
    for target, eid in ((1700, "ct-1"), (1800, "ct-2")):
        body = {"targetId": target, "key_values": {"event_name": "From KV", "event_id": eid},
                "profiles": [{"identity": "u-ct", "event_properties": {"sku": "A1"}}]}
        assert d.request("POST", "/clevertap/v4", body, key)[0] == 200
    d.wait_processed()
    assert event_of(d, t, "ct-1")["event"]["event_name"] == "Cart Abandoned"
    assert event_of(d, t, "ct-2")["event"]["event_name"] == "From KV"
    assert d.stop() == 0


def test_tenant_isolation(data):
    a = create_tenant(data)
    b = create_tenant(data, "other")
    d = Daemon(data)
    assert put(d, a, "segment", {"shared_secret": "a-secret",
                                 "mapping": {"user_id": "/traits/email"}})[0] == 200
    assert put(d, a, "moengage", {"event_name_field": "event_code"})[0] == 200
    status, s = d.get_json("/v1/sources/segment", b["admin_key"])
    assert status == 200 and s["shared_secret_set"] is False and s["mapping"] == {}, s
    assert d.get_json("/v1/sources/moengage", b["admin_key"])[1]["event_name_field"] == \
        "event_name"
    # B's events are read with B's (default) settings, unsigned.
    key = dict(CT, **{"X-API-KEY": b["write_key"]})
    ev = {"type": "track", "event": "E", "userId": "b-user", "messageId": "iso-1",
          "timestamp": iso_now(), "traits": {"email": "x@y.z"}}
    wait_for(lambda: d.request("POST", "/segment/v4", dict(ev, messageId="iso-probe"),
                               dict(CT, **{"X-API-KEY": a["write_key"]}))[0] == 401, 10,
             "A's secret to apply")
    assert d.request("POST", "/segment/v4", ev, key)[0] == 200
    assert d.request("POST", "/moengage/v4", moe_event("iso-2"), key)[0] == 200
    d.wait_processed()
    assert event_of(d, b, "iso-1")["event"]["user_id"] == "b-user"
    assert event_of(d, b, "iso-2")["event"]["event_name"] == "Order Placed"
    assert d.get_json("/v1/events/iso-1", a["admin_key"])[0] == 404
    assert d.stop() == 0


def test_answers_follow_retry_rules(data):
    """Item 7: 2xx only once durable (every 200 below is followed by the
    items being processed or failed); bodies that can never succeed are
    400 for Segment and the server API; batches with bad items are 200 with
    the bad items dead-lettered for MoEngage and CleverTap; WebEngage's
    success is exactly 200."""
    t = create_tenant(data)
    d = Daemon(data)
    key = dict(CT, **{"X-API-KEY": t["write_key"]})
    for path, body in (("/segment/v4", b'{"type":'), ("/segment/v4", b'"text"'),
                       ("/server/v4", b'{"event_id":"r-1"}'), ("/server/v4", b"[1,")):
        status, _, answer = d.request("POST", path, body, key)
        assert status == 400, (path, body, answer)
    batch = moe_event("rr-good")
    batch["events"].append({"event_name": "Bad", "event_time": int(time.time()), "uid": "u"})
    status, _, answer = d.request("POST", "/moengage/v4", batch, key)
    assert status == 200, answer
    ct = {"targetId": 9, "profiles": [{"identity": "u", "key_values": {"event_id": "rr-ct"}},
                                      {"key_values": {"event_id": "rr-ct-bad"}}]}
    status, _, answer = d.request("POST", "/clevertap/v4", ct, key)
    assert status == 200, answer
    d.wait_processed()
    assert event_of(d, t, "rr-good")["status"] == "processed"
    assert event_of(d, t, "rr-ct")["status"] == "processed"
    failed = d.get_json("/v1/failed-events?limit=100", t["admin_key"])[1]["failed_events"]
    got = sorted((f["source"], f["index"], f["reason"]) for f in failed)
    assert got == [("clevertap", 1, "missing_field"), ("moengage", 1, "missing_field")], got
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
