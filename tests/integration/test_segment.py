"""Segment through the real daemon: every fixture of tests/fixtures/segment
posted to its endpoint (/segment/v4 with X-API-KEY, /v1/* with the write key
as Basic user) ends as its expected events, processed or failed with the
expected reason; identify/group merge traits into the user's attributes,
last write wins by event time; alias is recorded; missing or wrong keys and
signatures are refused with 401 and store nothing; the signing secret is
managed through /v1/sources/segment and never shown or logged; the size
and shape limits answer 400 (413 past the global body limit)."""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import time

from harness import Daemon, create_tenant, iso_now, run, wait_for

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "segment")
NAMES = ["track", "page", "page-unnamed", "screen", "screen-unnamed", "identify", "group",
         "alias", "array", "unknown-type", "bad-items", "batch", "call-track", "call-identify"]


def basic(key, password=""):
    raw = base64.b64encode(("%s:%s" % (key, password)).encode()).decode()
    return {"Authorization": "Basic " + raw, "Content-Type": "application/json"}


def send(d, t, endpoint, body):
    if endpoint == "/segment/v4":
        return d.post(endpoint, body, t["write_key"])[0]
    status, _, _ = d.request("POST", endpoint, json.dumps(body), basic(t["write_key"]))
    return status


def events_of(body):
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("batch"), list):
        return body["batch"]
    return [body]


def load(name):
    """The fixture made sendable today: recent times (the tenant refuses
    events older than 30 days) and message ids unique to the fixture."""
    with open(os.path.join(FIXTURES, name + ".json")) as f:
        body = json.load(f)
    with open(os.path.join(FIXTURES, name + ".expected.json")) as f:
        expected = json.load(f)
    for i, ev in enumerate(events_of(body)):
        if not isinstance(ev, dict):
            continue
        for k in ("timestamp", "originalTimestamp"):
            if isinstance(ev.get(k), str) and ev[k][:2] == "20":
                ev[k] = iso_now(-600 + i)
        if isinstance(ev.get("messageId"), str):
            ev["messageId"] += "." + name
    for ev in expected["events"]:
        if "event_id" in ev:
            ev["event_id"] += "." + name
    return body, expected


def test_fixtures_processed(data):
    t = create_tenant(data)
    d = Daemon(data)
    sent = []
    for name in NAMES:
        body, expected = load(name)
        assert send(d, t, expected["endpoint"], body) == 200, name
        sent.append((name, body, expected))
    d.wait_processed()
    for name, body, expected in sent:
        items = events_of(body)
        for i, want in enumerate(expected["events"]):
            item = items[i]
            if "failed" in want:
                mid = item.get("messageId") if isinstance(item, dict) else None
                if not isinstance(mid, str) or len(mid) > 128:
                    continue  # no usable id: checked through the failed-events list below
                status, e = d.get_json("/v1/events/" + mid, t["admin_key"])
                assert status == 200 and e["status"] == "failed", (name, i, e)
                assert (e["reason"], e["field"]) == (want["failed"]["reason"],
                                                     want["failed"]["field"]), (name, i, e)
                continue
            status, e = d.get_json("/v1/events/" + want["event_id"], t["admin_key"])
            assert status == 200 and e["status"] == "processed", (name, i, e)
            got = e["event"]
            for k in ("kind", "source", "event_id", "event_name", "user_id", "properties",
                      "context", "traits", "group_id", "previous_id"):
                assert got.get(k) == want.get(k), (name, i, k, got, want)
    # Every failure of bad-items is listed with its index and reason.
    status, page = d.get_json("/v1/failed-events?source=segment&limit=100", t["admin_key"])
    assert status == 200
    _, expected = load("bad-items")
    want = sorted((i, ev["failed"]["reason"], ev["failed"]["field"])
                  for i, ev in enumerate(expected["events"]) if "failed" in ev)
    bad_offset = max(f["offset"] for f in page["failed_events"])
    got = sorted((f["index"], f["reason"], f["field"]) for f in page["failed_events"]
                 if f["offset"] == bad_offset)
    assert got == want, got
    assert d.stop() == 0


def test_identify_merges_attributes(data):
    t = create_tenant(data)
    d = Daemon(data)
    new = {"type": "identify", "userId": "u-m", "messageId": "id-new",
           "timestamp": iso_now(-60), "traits": {"plan": "gold", "city": "Pune"}}
    old = {"type": "identify", "userId": "u-m", "messageId": "id-old",
           "timestamp": iso_now(-3600), "traits": {"plan": "silver", "email": "m@example.com"}}
    grp = {"type": "group", "userId": "u-m", "groupId": "g-1", "messageId": "grp-1",
           "timestamp": iso_now(-30), "traits": {"name": "Acme"}}
    # The newer update arrives first; the older one must not undo it.
    assert send(d, t, "/segment/v4", new) == 200
    d.wait_processed()
    assert send(d, t, "/v1/batch", {"batch": [old, grp]}) == 200
    d.wait_processed()
    status, u = d.get_json("/v1/users/u-m", t["admin_key"])
    assert status == 200, u
    assert u["attributes"] == {"plan": "gold", "city": "Pune", "email": "m@example.com",
                               "groups": {"g-1": {"name": "Acme"}}}, u
    # Resending the old identify (Segment retries) is a duplicate, applied once.
    assert send(d, t, "/segment/v4", old) == 200
    d.wait_processed()
    status, e = d.get_json("/v1/events/id-old", t["admin_key"])
    assert e["status"] == "duplicate", e
    # alias links the ids (merging the users is for later).
    al = {"type": "alias", "userId": "u-m", "previousId": "anon-m", "messageId": "al-1",
          "timestamp": iso_now(-10)}
    assert send(d, t, "/v1/alias", al) == 200
    d.wait_processed()
    assert d.stop() == 0
    db = sqlite3.connect(os.path.join(data, "state.db"))
    rows = db.execute("SELECT previous_id, user_id FROM identity_links").fetchall()
    db.close()
    assert rows == [("anon-m", "u-m")], rows


def nothing_stored(d, t, ids, log_end=0):
    for i in ids:
        status, _ = d.get_json("/v1/events/" + i, t["admin_key"])
        assert status == 404, i
    assert d.metrics()["tally_log_durable_offset_bytes"] == log_end


def test_auth_failures(data):
    t = create_tenant(data)
    other = create_tenant(data, "other")
    d = Daemon(data)
    ev = {"type": "track", "event": "E", "userId": "u", "messageId": "auth-1",
          "timestamp": iso_now()}
    body = json.dumps(ev)
    cases = [
        ("/segment/v4", {"Content-Type": "application/json"}),
        ("/segment/v4", {"X-API-KEY": "tly_wk_wrong"}),
        ("/segment/v4", {"X-API-KEY": t["admin_key"]}),
        ("/segment/v4", basic(t["write_key"])),  # the webhook takes X-API-KEY only
        ("/v1/track", {"Content-Type": "application/json"}),
        ("/v1/track", {"X-API-KEY": t["write_key"]}),
        ("/v1/track", basic("tly_wk_wrong")),
        ("/v1/track", basic(t["admin_key"])),
        ("/v1/track", {"Authorization": "Basic !!!not-base64"}),
        ("/v1/batch", {"Authorization": "Bearer " + t["write_key"]}),
    ]
    for path, headers in cases:
        status, _, answer = d.request("POST", path, body if path != "/v1/batch" else
                                      json.dumps({"batch": [ev]}), headers)
        assert status == 401, (path, headers, status, answer)
        assert json.loads(answer)["error"] == "unauthorized", answer
    nothing_stored(d, t, ["auth-1"])
    # The other tenant's key works, for the other tenant only.
    assert send(d, other, "/v1/track", ev) == 200
    d.wait_processed()
    assert d.get_json("/v1/events/auth-1", t["admin_key"])[0] == 404
    assert d.get_json("/v1/events/auth-1", other["admin_key"])[1]["status"] == "processed"
    assert d.stop() == 0


def test_write_key_in_body(data):
    """analytics-node 2.x sends the write key as "writeKey" in the body, with
    no Authorization header: accepted, and masked before the body is stored."""
    t = create_tenant(data)
    d = Daemon(data)
    ev = {"type": "track", "event": "E", "userId": "u", "messageId": "wk-1", "timestamp": iso_now()}
    ct = {"Content-Type": "application/json"}
    body = json.dumps({"batch": [ev], "writeKey": "tly_wk_wrong"})
    assert d.request("POST", "/v1/batch", body, ct)[0] == 401
    body = json.dumps({"writeKey": t["write_key"], "batch": [ev]})
    assert d.request("POST", "/v1/batch", body, ct)[0] == 200
    assert d.request("POST", "/v1/track", json.dumps(dict(ev, messageId="wk-2",
                                                          writeKey=t["write_key"])), ct)[0] == 200
    d.wait_processed()
    for i in ("wk-1", "wk-2"):
        assert d.get_json("/v1/events/" + i, t["admin_key"])[1]["status"] == "processed", i
    assert d.stop() == 0
    logdir = os.path.join(data, "log")
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name), "rb") as f:
            assert t["write_key"].encode() not in f.read(), name


def sign(secret, raw):
    return hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()


def test_signature(data):
    t = create_tenant(data)
    d = Daemon(data)
    secret = "s3cr3t-for-segment-hmac"
    status, s = d.send_json("PUT", "/v1/sources/segment", {"shared_secret": secret},
                            t["admin_key"])
    assert status == 200 and s["shared_secret_set"] is True, s
    status, s = d.get_json("/v1/sources/segment", t["admin_key"])
    assert status == 200 and s["shared_secret_set"] is True and secret not in json.dumps(s)
    ev = {"type": "track", "event": "Signed", "userId": "u-s", "messageId": "sig-1",
          "timestamp": iso_now()}
    raw = json.dumps(ev).encode()
    key = {"X-API-KEY": t["write_key"], "Content-Type": "application/json"}
    # Ingest reads the secret again within a second (probes stored before
    # that are not the events checked below).
    probe = json.dumps(dict(ev, messageId="probe"))
    wait_for(lambda: d.request("POST", "/segment/v4", probe, key)[0] == 401, 10,
             "the secret to apply")
    log_end = d.metrics()["tally_log_durable_offset_bytes"]
    bad = [dict(key), dict(key, **{"X-Signature": "0" * 40}),
           dict(key, **{"X-Signature": sign(secret, raw).upper()}),
           dict(key, **{"X-Signature": sign("other", raw)}),
           dict(key, **{"X-Signature": sign(secret, raw + b" ")})]
    for h in bad:
        status, _, answer = d.request("POST", "/segment/v4", raw, h)
        assert status == 401, (h, answer)
    nothing_stored(d, t, ["sig-1"], log_end)
    assert d.request("POST", "/segment/v4", raw,
                     dict(key, **{"X-Signature": sign(secret, raw)}))[0] == 200
    # An array: the signature covers the exact bytes of the first element.
    ev2 = dict(ev, messageId="sig-2")
    ev3 = dict(ev, messageId="sig-3")
    first = b'{ "type":"track","event":"Signed","userId":"u-s","messageId":"sig-2",' \
            b'"timestamp":"%s" }' % ev2["timestamp"].encode()
    arr = b"[ " + first + b" ,\n" + json.dumps(ev3).encode() + b"]"
    assert d.request("POST", "/segment/v4", arr,
                     dict(key, **{"X-Signature": sign(secret, arr)}))[0] == 401
    assert d.request("POST", "/segment/v4", arr,
                     dict(key, **{"X-Signature": sign(secret, first)}))[0] == 200
    d.wait_processed()
    for i in ("sig-1", "sig-2", "sig-3"):
        assert d.get_json("/v1/events/" + i, t["admin_key"])[1]["status"] == "processed", i
    # The tracking API is not signed: unaffected by the secret.
    assert send(d, t, "/v1/track", dict(ev, messageId="sig-4")) == 200
    # The documented test vector.
    status, s = d.send_json("PUT", "/v1/sources/segment", {"shared_secret": "abc123"},
                            t["admin_key"])
    assert status == 200
    vec = dict(key, **{"X-Signature": "5099cab379b3be52908387457007040cc934ef86"})
    wait_for(lambda: d.request("POST", "/segment/v4", b'{"cool":true}', vec)[0] == 200, 10,
             "the new secret to apply")
    # Bad settings bodies; then removal: unsigned requests pass again.
    for b in ({"shared_secret": ""}, {"shared_secret": 5}, {"secret": "x"}, [],
              {"shared_secret": "x" * 257}):
        assert d.send_json("PUT", "/v1/sources/segment", b, t["admin_key"])[0] == 400, b
    assert d.get_json("/v1/sources/nope", t["admin_key"])[0] == 404
    status, s = d.send_json("PUT", "/v1/sources/segment", {"shared_secret": None},
                            t["admin_key"])
    assert status == 200 and s["shared_secret_set"] is False, s
    wait_for(lambda: d.request("POST", "/segment/v4",
                               json.dumps(dict(ev, messageId="sig-5")), key)[0] == 200, 10,
             "the secret's removal to apply")
    assert d.stop() == 0
    for secret_text in (secret, "abc123"):
        assert secret_text not in d.stderr() and secret_text not in d.stdout()


def test_limits_and_shapes(data):
    t = create_tenant(data)
    d = Daemon(data)
    big = {"type": "track", "event": "Big", "userId": "u", "messageId": "big-1",
           "properties": {"blob": "x" * (33 * 1024)}}
    for path in ("/v1/track", "/v1/batch"):
        body = big if path == "/v1/track" else {"batch": [big]}
        status, _, answer = d.request("POST", path, json.dumps(body), basic(t["write_key"]))
        assert status == 400 and "at most 32768 allowed per event" in answer.decode(), answer
    many = {"batch": [dict(big, messageId="m-%d" % i, properties={"blob": "y" * 20000})
                      for i in range(30)]}
    status, _, answer = d.request("POST", "/v1/batch", json.dumps(many), basic(t["write_key"]))
    assert status == 400 and "at most 512000 allowed per batch" in answer.decode(), answer
    status, _, answer = d.request("POST", "/segment/v4", json.dumps([many["batch"][0]] * 30),
                                  {"X-API-KEY": t["write_key"]})
    assert status == 400, answer
    bad = [("/segment/v4", "{\"type\":"), ("/segment/v4", "[]"), ("/segment/v4", "\"track\""),
           ("/segment/v4", "{\"a\":1}{}"), ("/v1/track", "[{}]"), ("/v1/batch", "{}"),
           ("/v1/batch", "{\"batch\":{}}"), ("/v1/batch", "{\"batch\":[]}"),
           ("/v1/identify", "")]
    for path, body in bad:
        headers = {"X-API-KEY": t["write_key"]} if path == "/segment/v4" else basic(t["write_key"])
        status, _, answer = d.request("POST", path, body, headers)
        assert status == 400, (path, body, status, answer)
        assert json.loads(answer)["error"] == "invalid_request", answer
    status, _, _ = d.request("POST", "/v1/batch", b"{\"batch\":[" + b" " * (1 << 20) + b"]}",
                             basic(t["write_key"]))
    assert status == 413
    assert d.metrics()["tally_log_durable_offset_bytes"] == 0
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
