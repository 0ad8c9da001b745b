"""Campaigns through the real daemon: definitions created with the API,
events sent to the server source, and the progress, stats, leaderboard and
rewards answers read back; acceptance gating, a segment campaign counting
only its segment's members (none here), the engine's metrics, and progress surviving a restart."""

import json
import re
import time

from harness import Daemon, admin, create_tenant, event, run, wait_for

WEEK_MS = 7 * 24 * 3600 * 1000


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


ORDERS = {
    "id": "orders", "name": "2 orders, 100 spent", "max_completions": 2,
    "activities": [
        {"id": "n", "event": "order_placed", "measure": "count", "target": 2},
        {"id": "spend", "event": "order_placed", "measure": "sum", "property": "amount",
         "target": 100},
    ],
    "reward": {"type": "points", "name": "100 coins", "amount": 100},
}
WEEKLY = {
    "id": "weekly", "name": "open twice a week", "timezone": "Asia/Kolkata", "window": "week", "max_completions": 0,
    "activities": [{"id": "opens", "event": "app_open", "measure": "count", "target": 2}],
}
ACCEPT = {
    "id": "acc", "name": "opt-in", "enrollment": "accept",
    "activities": [{"id": "n", "event": "order_placed", "measure": "count", "target": 5}],
}
SEGMENT = {
    "id": "seg", "name": "vip only", "segment": "vip",
    "activities": [{"id": "n", "event": "order_placed", "measure": "count", "target": 1}],
}


def create(d, key, definition):
    status, body = d.send_json("POST", "/v1/campaigns", definition, key)
    assert status == 201, (status, body)
    return body


def send(d, key, events):
    assert d.post("/server/v4/batch", {"events": events}, key)[0] == 200
    d.wait_processed()


def by_id(listing):
    return {c["campaign_id"]: c for c in listing["campaigns"]}


def test_progress_stats_leaderboard_rewards(data):
    t = create_tenant(data)
    key, wk = t["admin_key"], t["write_key"]
    d = Daemon(data)
    for c in (ORDERS, WEEKLY, ACCEPT, SEGMENT):
        create(d, key, c)
    now = int(time.time() * 1000)
    last_week = now - WEEK_MS
    send(d, wk, [
        event("o-1", user="u1", amount=60),
        event("o-2", user="u1", amount=60),  # n=2, spend=120: completion 1, reset
        event("o-3", user="u1", amount=60),
        event("o-4", user="u2", amount=30),
        event("a-1", user="u1", name="app_open", ts=iso(now - 1000)),
        event("a-2", user="u1", name="app_open", ts=iso(last_week)),  # late, last week
        event("a-3", user="u1", name="app_open", ts=iso(last_week + 1)),
        event("x-1", user="u3", name="profile_viewed"),
    ])

    # Every active campaign that admits the user, by id: not `acc` (not
    # accepted) nor `seg` (u1 is not a member of its segment).
    status, listing = d.get_json("/v1/users/u1/campaigns", key)
    assert status == 200, listing
    assert listing["user_id"] == "u1" and listing["at"]
    assert [c["campaign_id"] for c in listing["campaigns"]] == ["orders", "weekly"]
    p = by_id(listing)["orders"]
    assert p["status"] == "in-progress" and p["completions"] == 1, p
    assert p["steps_total"] == 2 and p["steps_completed"] == 0
    assert p["window_start"] is None and p["window_end"] is None
    assert p["activities"] == [
        {"id": "n", "value": 1, "target": 2, "met": False},
        {"id": "spend", "value": 60, "target": 100, "met": False},
    ], p["activities"]
    assert len(p["rewards"]) == 1
    r = p["rewards"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", r["reward_id"]), r
    assert (r["completion"], r["event_id"], r["type"], r["name"], r["amount"], r["code"]) == \
        (1, "o-2", "points", "100 coins", 100, None), r
    assert r["issued_at"].endswith("Z")

    # One campaign; the same answer.
    status, one = d.get_json("/v1/users/u1/campaigns/orders", key)
    assert status == 200 and one == p, one

    # Calendar windows: `at` picks the window; the late events counted in
    # last week's, which completed (target 2).
    w = by_id(listing)["weekly"]
    assert w["activities"][0]["value"] == 1 and w["completions"] == 1, w
    status, past = d.get_json("/v1/users/u1/campaigns/weekly?at=" + iso(last_week), key)
    assert status == 200 and past["activities"][0] == \
        {"id": "opens", "value": 2, "target": 2, "met": True}, past
    assert past["steps_completed"] == 1 and past["window_start"] < past["window_end"]
    assert past["window_end"] <= w["window_start"]

    # A pristine user: listed, with zero values.
    status, listing3 = d.get_json("/v1/users/u3/campaigns", key)
    assert by_id(listing3)["orders"]["status"] == "pristine"
    assert by_id(listing3)["orders"]["rewards"] == []

    # Not admitted, unknown, not active: 404.
    assert d.get_json("/v1/users/u1/campaigns/acc", key)[0] == 404
    assert d.get_json("/v1/users/u1/campaigns/seg", key)[0] == 404
    assert d.get_json("/v1/users/u1/campaigns/nope", key)[0] == 404
    status, err = d.get_json("/v1/users/u1/campaigns?at=yesterday", key)
    assert status == 400 and err["field"] == "at", err

    # Acceptance: only events received after it count.
    status, acc = d.send_json("POST", "/v1/users/u1/campaigns/acc/accept", {}, key)
    assert status == 200 and acc["accepted_at"], acc
    send(d, wk, [event("o-5", user="u1", amount=10)])
    status, pa = d.get_json("/v1/users/u1/campaigns/acc", key)
    assert status == 200 and pa["activities"][0]["value"] == 1 and pa["status"] == "in-progress"

    # Stats: u3 is known but pristine; u1, u2 in progress.
    status, s = d.get_json("/v1/campaigns/orders/stats", key)
    assert status == 200, s
    assert s == {"campaign_id": "orders",
                 "users": {"pristine": 1, "in_progress": 2, "completed": 0},
                 "completions": 1, "rewards": 1}, s
    assert d.get_json("/v1/campaigns/nope/stats", key)[0] == 404

    # Leaderboard: by value, then user id.
    status, lb = d.get_json("/v1/campaigns/orders/leaderboard?activity=spend", key)
    assert status == 200, lb
    assert lb["users"] == [{"user_id": "u1", "value": 70}, {"user_id": "u2", "value": 30}], lb
    status, lb = d.get_json("/v1/campaigns/orders/leaderboard?activity=spend&limit=1", key)
    assert [u["user_id"] for u in lb["users"]] == ["u1"]
    # A window nobody has anything in: an empty board (no one to sort).
    status, lb = d.get_json("/v1/campaigns/weekly/leaderboard?activity=opens&at=" +
                            iso(now + 3 * WEEK_MS), key)
    assert status == 200 and lb["users"] == [] and lb["window_start"] > iso(now), lb
    assert d.get_json("/v1/campaigns/orders/leaderboard", key)[0] == 400
    assert d.get_json("/v1/campaigns/orders/leaderboard?activity=spend&limit=0", key)[0] == 400

    # A second completion reaches max_completions: completed, counting stops.
    send(d, wk, [event("o-6", user="u1", amount=50)])
    status, p = d.get_json("/v1/users/u1/campaigns/orders", key)
    assert p["status"] == "completed" and p["completions"] == 2 and len(p["rewards"]) == 2, p
    assert p["rewards"][0]["reward_id"] != p["rewards"][1]["reward_id"]

    m = d.metrics()
    assert m["tally_engine_completions_total"] == 3  # orders 2, weekly 1
    assert m["tally_engine_rewards_issued_total"] == 3
    assert m["tally_engine_events_evaluated_total"] == 10
    assert m["tally_engine_campaigns"] == 4  # seg counts too, for its members
    assert m["tally_engine_cache_entries"] > 0 and m["tally_engine_cache_bytes"] > 0
    assert d.stop() == 0

    # After a restart the committed progress is what the answers show.
    d = Daemon(data)
    status, again = d.get_json("/v1/users/u1/campaigns/orders", key)
    assert status == 200 and again == p, again
    send(d, wk, [event("o-7", user="u2", amount=80)])  # u2: n=2, spend=110: completes
    status, p2 = d.get_json("/v1/users/u2/campaigns/orders", key)
    assert p2["completions"] == 1 and p2["activities"][1]["value"] == 0, p2

    # Deleted and created again under the same id: a new campaign, whose
    # progress starts from nothing; the old rewards are not its own.
    assert d.request("DELETE", "/v1/campaigns/orders", headers=admin(key))[0] == 204
    assert d.get_json("/v1/users/u1/campaigns/orders", key)[0] == 404
    create(d, key, ORDERS)
    status, fresh = d.get_json("/v1/users/u1/campaigns/orders", key)
    assert status == 200 and fresh["status"] == "pristine" and fresh["rewards"] == [], fresh
    send(d, wk, [event("o-8", user="u1", amount=100), event("o-9", user="u1", amount=1)])
    status, fresh = d.get_json("/v1/users/u1/campaigns/orders", key)
    assert fresh["completions"] == 1 and len(fresh["rewards"]) == 1, fresh
    assert fresh["rewards"][0]["reward_id"] not in [r["reward_id"] for r in p["rewards"]]
    assert d.get_json("/v1/campaigns/orders/stats", key)[1]["rewards"] == 1
    assert d.stop() == 0


def test_tenants_are_isolated(data):
    a = create_tenant(data, "acme")
    b = create_tenant(data, "other")
    d = Daemon(data)
    create(d, a["admin_key"], ORDERS)
    send(d, b["write_key"], [event("b-1", user="u1", amount=500), event("b-2", user="u1")])
    status, listing = d.get_json("/v1/users/u1/campaigns", b["admin_key"])
    assert status == 200 and listing["campaigns"] == [], listing
    status, p = d.get_json("/v1/users/u1/campaigns/orders", a["admin_key"])
    assert status == 200 and p["status"] == "pristine", p
    assert d.get_json("/v1/campaigns/orders/stats", b["admin_key"])[0] == 404
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
