"""Campaign definitions API against the real daemon: create, list, get,
replace and delete; a broken definition is 400 naming the field (a few
representative rules; the parser's unit tests cover every rule); 409 on a
duplicate id and on changing activities, window or timezone of an active
campaign while status, name, reward and ends_at may change; 404s; 401
without the admin key; one tenant never sees or changes another's
campaigns; acceptance is idempotent; definitions survive a restart."""

import calendar
import copy
import json
import time

from harness import Daemon, admin, create_tenant, run

ORDERS_WEEK = {
    "id": "orders-week", "name": "3 orders this week",
    "status": "active", "timezone": "Asia/Kolkata",
    "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z",
    "window": "week", "complete_when": "all",
    "max_completions": 0, "enrollment": "auto", "segment": None,
    "activities": [
        {"id": "orders", "event": "order_placed",
         "where": [{"path": "amount", "op": "gte", "value": 100}],
         "measure": "count", "target": 3},
        {"id": "spend", "event": "order_placed", "measure": "sum", "property": "amount",
         "target": 1000},
    ],
    "reward": {"type": "points", "name": "100 coins", "amount": 100},
}

MINIMAL = {"id": "minimal", "name": "Open the app",
           "activities": [{"id": "opens", "event": "app_opened", "measure": "count", "target": 1}]}


def definition(**changes):
    d = copy.deepcopy(ORDERS_WEEK)
    d.update(changes)
    return d


def call(d, method, path, key, body=None):
    """(status, parsed JSON or None for an empty body)."""
    status, _, raw = d.request(method, path, body, admin(key))
    return status, (json.loads(raw) if raw else None)


def ms(iso):
    """ISO-8601 UTC (with or without milliseconds) → ms since the epoch."""
    base, _, frac = iso.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return t * 1000 + int((frac + "000")[:3])


def assert_error(status, body, want_status, want_error, field=None):
    assert status == want_status, (status, body)
    assert body["success"] is False and body["error"] == want_error, body
    if field is not None:
        assert body.get("field") == field, (field, body)


def assert_campaign(c, want):
    """c is the API's view of definition `want`: every field as given
    (times compared as instants), plus created_at and updated_at."""
    for k, v in want.items():
        if k in ("starts_at", "ends_at") and v is not None:
            assert ms(c[k]) == ms(v), (k, c[k], v)
        elif k == "activities":
            assert [a["id"] for a in c[k]] == [a["id"] for a in v], c[k]
            for got, exp in zip(c[k], v):
                for ak, av in exp.items():
                    assert got[ak] == av, (ak, got, exp)
        else:
            assert c[k] == v, (k, c[k], v)
    assert ms(c["created_at"]) > 0 and ms(c["updated_at"]) >= ms(c["created_at"]), c


def test_create_list_get_put_delete(data):
    t = create_tenant(data)
    key = t["admin_key"]
    d = Daemon(data)
    before = int(time.time() * 1000)
    status, c = call(d, "POST", "/v1/campaigns", key, ORDERS_WEEK)
    assert status == 201, c
    assert_campaign(c, ORDERS_WEEK)
    assert c["created_at"] == c["updated_at"] and ms(c["created_at"]) >= before - 1000, c
    assert c["counting"] is True, c

    # Left-out fields come back with their defaults.
    status, m = call(d, "POST", "/v1/campaigns", key, MINIMAL)
    assert status == 201, m
    assert (m["status"], m["timezone"], m["window"], m["complete_when"], m["max_completions"],
            m["enrollment"]) == ("active", "UTC", "campaign", "all", 1, "auto"), m

    # GET one equals what POST answered; the list is ordered by id.
    assert call(d, "GET", "/v1/campaigns/orders-week", key) == (200, c)
    status, lst = call(d, "GET", "/v1/campaigns", key)
    assert status == 200 and lst == {"campaigns": [m, c]}, lst

    # PUT replaces the whole definition; created_at stays.
    time.sleep(0.01)
    new = definition(name="Three orders", reward={"type": "coupon", "name": "10% off"})
    status, p = call(d, "PUT", "/v1/campaigns/orders-week", key, new)
    assert status == 200, p
    assert_campaign(p, new)
    assert p["created_at"] == c["created_at"] and ms(p["updated_at"]) > ms(c["updated_at"]), p
    assert call(d, "GET", "/v1/campaigns/orders-week", key) == (200, p)

    # The id may be left out of a PUT body; a different one is refused.
    no_id = definition(name="no id")
    del no_id["id"]
    status, p = call(d, "PUT", "/v1/campaigns/orders-week", key, no_id)
    assert status == 200 and p["id"] == "orders-week" and p["name"] == "no id", p
    status, e = call(d, "PUT", "/v1/campaigns/orders-week", key, definition(id="other"))
    assert_error(status, e, 400, "invalid_request", "id")
    assert call(d, "GET", "/v1/campaigns/other", key)[0] == 404

    status, body = call(d, "DELETE", "/v1/campaigns/orders-week", key)
    assert (status, body) == (204, None)
    status, e = call(d, "GET", "/v1/campaigns/orders-week", key)
    assert_error(status, e, 404, "not_found")
    assert call(d, "GET", "/v1/campaigns", key) == (200, {"campaigns": [m]})
    assert d.stop() == 0


def test_invalid_definitions_name_the_field(data):
    key = create_tenant(data)["admin_key"]
    d = Daemon(data)
    where = [{"path": "amount", "op": "between", "value": 1}]
    streak = [{"id": "days", "event": "app_opened", "measure": "streak", "target": 3}]
    cases = [
        (definition(id="Not An Id"), "id"),
        (definition(status="running"), "status"),
        (definition(timezone="Mars/Olympus_Mons"), "timezone"),
        (definition(window="fortnight"), "window"),
        (definition(activities=[dict(ORDERS_WEEK["activities"][1], measure="avg")]),
         "activities[0].measure"),
        (definition(activities=[dict(ORDERS_WEEK["activities"][0], where=where)]),
         "activities[0].where[0].op"),
        # streak needs window "campaign"
        (definition(activities=streak), "window"),
    ]
    for body, field in cases:
        status, e = call(d, "POST", "/v1/campaigns", key, body)
        assert_error(status, e, 400, "invalid_request", field)
        assert e["message"], e
    for raw in ("", "not json", "[1, 2]", '"orders-week"'):
        status, e = call(d, "POST", "/v1/campaigns", key, raw)
        assert_error(status, e, 400, "invalid_request")
    # Over the definition's 64 KB (but under the server's body limit): 413.
    status, e = call(d, "POST", "/v1/campaigns", key, definition(name="x" * 70000))
    assert_error(status, e, 413, "invalid_request")
    assert "at most" in e["message"], e
    # Nothing of it was stored.
    assert call(d, "GET", "/v1/campaigns", key) == (200, {"campaigns": []})

    # The same rules hold for PUT, which then changes nothing.
    status, c = call(d, "POST", "/v1/campaigns", key, ORDERS_WEEK)
    assert status == 201, c
    for body, field in cases[1:]:
        status, e = call(d, "PUT", "/v1/campaigns/orders-week", key, body)
        assert_error(status, e, 400, "invalid_request", field)
    for raw in ("", "not json", "[1, 2]"):
        status, e = call(d, "PUT", "/v1/campaigns/orders-week", key, raw)
        assert_error(status, e, 400, "invalid_request")
    assert call(d, "GET", "/v1/campaigns/orders-week", key) == (200, c)
    assert d.stop() == 0


def test_conflicts(data):
    key = create_tenant(data)["admin_key"]
    d = Daemon(data)
    status, c = call(d, "POST", "/v1/campaigns", key, ORDERS_WEEK)
    assert status == 201, c
    status, e = call(d, "POST", "/v1/campaigns", key, definition(name="again"))
    assert_error(status, e, 409, "conflict", "id")
    assert call(d, "GET", "/v1/campaigns/orders-week", key) == (200, c)

    # Active: what the engine's state depends on may not change …
    changed_activities = [dict(ORDERS_WEEK["activities"][0], target=5)]
    for body, field in [(definition(activities=changed_activities), "activities"),
                        (definition(window="month"), "window"),
                        (definition(timezone="UTC"), "timezone")]:
        status, e = call(d, "PUT", "/v1/campaigns/orders-week", key, body)
        assert_error(status, e, 409, "conflict", field)
    assert call(d, "GET", "/v1/campaigns/orders-week", key) == (200, c)

    # … while status, name, reward and ends_at may.
    new = definition(name="renamed", ends_at="2027-06-01T00:00:00Z",
                     reward={"type": "points", "name": "200 coins", "amount": 200})
    status, p = call(d, "PUT", "/v1/campaigns/orders-week", key, new)
    assert status == 200, p
    assert_campaign(p, new)
    status, p = call(d, "PUT", "/v1/campaigns/orders-week", key, dict(new, status="paused"))
    assert status == 200 and p["status"] == "paused" and p["counting"] is False, p

    # Not active any more: the activities may change now.
    status, p = call(d, "PUT", "/v1/campaigns/orders-week", key,
                     dict(new, status="paused", activities=changed_activities))
    assert status == 200 and p["activities"][0]["target"] == 5, p
    assert len(p["activities"]) == 1, p
    assert d.stop() == 0


def test_not_found_and_auth(data):
    t = create_tenant(data)
    key = t["admin_key"]
    d = Daemon(data)
    for method, path, body in [("GET", "/v1/campaigns/nope", None),
                               ("PUT", "/v1/campaigns/nope", definition(id="nope")),
                               ("DELETE", "/v1/campaigns/nope", None),
                               ("GET", "/v1/campaigns/%zz", None),
                               ("GET", "/v1/campaigns/" + "a" * 65, None),
                               ("POST", "/v1/users/u1/campaigns/nope/accept", None)]:
        status, e = call(d, method, path, key, body)
        assert_error(status, e, 404, "not_found")

    call(d, "POST", "/v1/campaigns", key, ORDERS_WEEK)
    requests = [("POST", "/v1/campaigns", definition(id="x")),
                ("GET", "/v1/campaigns", None),
                ("GET", "/v1/campaigns/orders-week", None),
                ("PUT", "/v1/campaigns/orders-week", definition(name="x")),
                ("DELETE", "/v1/campaigns/orders-week", None),
                ("POST", "/v1/users/u1/campaigns/orders-week/accept", None)]
    for method, path, body in requests:
        for headers in ({}, admin(t["write_key"]), {"X-API-KEY": t["write_key"]},
                        admin("tly_ak_not-a-key")):
            status, _, raw = d.request(method, path, body, headers)
            assert status == 401, (method, path, headers, status, raw)
    # None of them changed anything.
    status, lst = call(d, "GET", "/v1/campaigns", key)
    assert [c["id"] for c in lst["campaigns"]] == ["orders-week"], lst
    assert lst["campaigns"][0]["name"] == ORDERS_WEEK["name"], lst
    assert d.stop() == 0


def test_tenant_isolation(data):
    a = create_tenant(data, "acme")["admin_key"]
    b = create_tenant(data, "globex")["admin_key"]
    d = Daemon(data)
    status, c = call(d, "POST", "/v1/campaigns", a, ORDERS_WEEK)
    assert status == 201, c
    assert call(d, "POST", "/v1/users/u1/campaigns/orders-week/accept", a)[0] == 200

    assert call(d, "GET", "/v1/campaigns", b) == (200, {"campaigns": []})
    for method, path, body in [("GET", "/v1/campaigns/orders-week", None),
                               ("PUT", "/v1/campaigns/orders-week", definition(name="b's")),
                               ("DELETE", "/v1/campaigns/orders-week", None),
                               ("POST", "/v1/users/u1/campaigns/orders-week/accept", None)]:
        status, e = call(d, method, path, b, body)
        assert_error(status, e, 404, "not_found")

    # b may have its own campaign under the same id; a's stays as it was.
    status, mine = call(d, "POST", "/v1/campaigns", b, definition(name="globex orders"))
    assert status == 201 and mine["name"] == "globex orders", mine
    assert call(d, "DELETE", "/v1/campaigns/orders-week", b)[0] == 204
    assert call(d, "GET", "/v1/campaigns/orders-week", a) == (200, c)
    assert call(d, "GET", "/v1/campaigns", a) == (200, {"campaigns": [c]})
    status, acc = call(d, "POST", "/v1/users/u1/campaigns/orders-week/accept", a)
    assert status == 200, acc
    assert d.stop() == 0


def test_accept_is_idempotent(data):
    key = create_tenant(data)["admin_key"]
    d = Daemon(data)
    body = definition(id="opt-in", enrollment="accept")
    assert call(d, "POST", "/v1/campaigns", key, body)[0] == 201
    before = int(time.time() * 1000)
    status, first = call(d, "POST", "/v1/users/user%2F1/campaigns/opt-in/accept", key)
    assert status == 200, first
    assert first["campaign_id"] == "opt-in" and first["user_id"] == "user/1", first
    assert ms(first["accepted_at"]) >= before - 1000, first
    time.sleep(0.02)
    assert call(d, "POST", "/v1/users/user%2F1/campaigns/opt-in/accept", key) == (200, first)
    status, other = call(d, "POST", "/v1/users/u2/campaigns/opt-in/accept", key)
    assert status == 200 and ms(other["accepted_at"]) > ms(first["accepted_at"]), other

    status, e = call(d, "POST", "/v1/users/%ff/campaigns/opt-in/accept", key)
    assert_error(status, e, 400, "invalid_request", "user_id")

    # Deleting the campaign removes its acceptances: created again, the
    # user's acceptance is a new one.
    assert call(d, "DELETE", "/v1/campaigns/opt-in", key)[0] == 204
    assert call(d, "POST", "/v1/users/user%2F1/campaigns/opt-in/accept", key)[0] == 404
    assert call(d, "POST", "/v1/campaigns", key, body)[0] == 201
    time.sleep(0.02)
    status, again = call(d, "POST", "/v1/users/user%2F1/campaigns/opt-in/accept", key)
    assert status == 200 and ms(again["accepted_at"]) > ms(other["accepted_at"]), again
    assert d.stop() == 0


def test_segment_campaign_says_it_counts_members_only(data):
    key = create_tenant(data)["admin_key"]
    d = Daemon(data)
    status, c = call(d, "POST", "/v1/campaigns", key, definition(id="vip", segment="vip-users"))
    assert status == 201, c
    status, c = call(d, "GET", "/v1/campaigns/vip", key)
    assert status == 200 and c["segment"] == "vip-users" and c["counting"] is True, c
    assert "counts the events of its segment's members only" in c["note"], c
    status, c = call(d, "POST", "/v1/campaigns", key, definition(id="draft", status="draft"))
    assert status == 201 and c["counting"] is False and "note" not in c, c
    assert d.stop() == 0


def test_definitions_survive_restart(data):
    key = create_tenant(data)["admin_key"]
    d = Daemon(data)
    assert call(d, "POST", "/v1/campaigns", key, ORDERS_WEEK)[0] == 201
    assert call(d, "POST", "/v1/campaigns", key, MINIMAL)[0] == 201
    assert call(d, "POST", "/v1/users/u1/campaigns/minimal/accept", key)[0] == 200
    status, before = call(d, "GET", "/v1/campaigns", key)
    status, accepted = call(d, "POST", "/v1/users/u1/campaigns/minimal/accept", key)
    assert d.stop() == 0
    d = Daemon(data)
    assert call(d, "GET", "/v1/campaigns", key) == (200, before)
    assert call(d, "POST", "/v1/users/u1/campaigns/minimal/accept", key) == (200, accepted)
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
