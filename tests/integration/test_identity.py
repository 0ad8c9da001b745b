"""Identity merge at an alias (README, "Users"), on a real daemon, across crashes.

An anonymous user (Segment tracking API, anonymousId only) gets attributes,
a static segment membership and campaign progress (one campaign completed,
with its reward); the known user has progress of their own. Then an alias
(POST /v1/batch, type alias) links them, and a later event under the
anonymous id follows the link. Around these calls go thousands of filler
events of other users. Everything is written with the pipeline off; one
copy of the data directory is processed by `tallyd pipeline run`, the other
by the daemon while it is SIGKILLed again and again during catch-up. Both
must answer exactly the merged result: the known user's values are the sum
(count) and union (distinct) of both, the completion the merge makes is
issued once with the alias as its event, the anonymous user's reward stays
its own and none is doubled, attributes merge last-write-wins by time, the
static membership is added, and the later anonymous event is recorded and
counted for the known user.

Size: 16,000 filler events (ASan+UBSan build: 6,000).
"""

import base64
import json
import os
import shutil

from harness import (TALLYD, Daemon, admin, create_tenant, event, iso_now,
                     kill_during_catch_up, run, tallyd)

ASAN = "asan" in os.path.basename(TALLYD)
FILLER = 6_000 if ASAN else 16_000

CAMPAIGNS = [
    {"id": "orders", "name": "3 orders", "max_completions": 0,
     "activities": [{"id": "n", "event": "order_placed", "measure": "count", "target": 3}],
     "reward": {"type": "points", "name": "30 coins", "amount": 30}},
    {"id": "first", "name": "first open",
     "activities": [{"id": "o", "event": "app_opened", "measure": "count", "target": 1}],
     "reward": {"type": "points", "name": "5 coins", "amount": 5}},
    {"id": "shops", "name": "3 restaurants",
     "activities": [{"id": "d", "event": "order_placed", "measure": "distinct",
                     "property": "restaurant", "target": 3}],
     "reward": {"type": "points", "name": "50 coins", "amount": 50}},
]


def basic(key):
    raw = base64.b64encode((key + ":").encode()).decode()
    return {"Authorization": "Basic " + raw, "Content-Type": "application/json"}


def seg(kind, mid, ts_offset, anon=None, user=None, **fields):
    m = {"type": kind, "messageId": mid, "timestamp": iso_now(ts_offset)}
    if anon:
        m["anonymousId"] = anon
    if user:
        m["userId"] = user
    m.update(fields)
    return m


# The scenario, in log order: Segment batches between filler.
STEPS = [
    [seg("identify", "an-id", -100, anon="anon-1", traits={"plan": "gold", "city": "Pune"}),
     seg("track", "an-o1", -90, anon="anon-1", event="order_placed",
         properties={"restaurant": "r1"}),
     seg("track", "an-o2", -80, anon="anon-1", event="order_placed",
         properties={"restaurant": "r2"}),
     seg("track", "an-open", -70, anon="anon-1", event="app_opened")],
    [seg("identify", "kn-id", -200, user="known-1", traits={"plan": "silver", "age": 30}),
     seg("track", "kn-o1", -60, user="known-1", event="order_placed",
         properties={"restaurant": "r2"}),
     seg("track", "kn-open", -50, user="known-1", event="app_opened")],
    [seg("alias", "al-1", -40, user="known-1", previousId="anon-1")],
    [seg("track", "after-1", -30, anon="anon-1", event="order_placed",
         properties={"restaurant": "r3"})],
]


def preload(d, t):
    """Filler and the scenario into the log, the pipeline off."""
    chunk = FILLER // (len(STEPS) + 1) // 500
    n = 0

    def filler():
        nonlocal n
        for _ in range(chunk):
            body = {"events": [event("f-%06d" % (n + i), user="f-%d" % ((n + i) % 300),
                                     restaurant="r%d" % (i % 7)) for i in range(500)]}
            n += 500
            status = d.post("/server/v4/batch", body, t["write_key"])[0]
            assert status == 200

    for step in STEPS:
        filler()
        status, _, body = d.request("POST", "/v1/batch", json.dumps({"batch": step}),
                                    basic(t["write_key"]))
        assert status == 200, body
    filler()


def answers(d, key):
    out = {}
    for u in ("known-1", "anon-1"):
        status, body = d.get_json("/v1/users/%s/campaigns" % u, key)
        assert status == 200, body
        out[u] = {p["campaign_id"]: p for p in body["campaigns"]}
    status, out["user"] = d.get_json("/v1/users/known-1", key)
    assert status == 200, out["user"]
    status, ev = d.get_json("/v1/users/known-1/events?limit=50", key)
    assert status == 200, ev
    out["events"] = ev
    return out


def check_merged(a):
    k, anon = a["known-1"], a["anon-1"]

    def rewards(p):
        return [(r["completion"], r["event_id"]) for r in p["rewards"]]

    # orders: 2 (anon) + 1 (known) = 3 completes at the alias, then the
    # later anonymous event counts 1 for the known user.
    assert k["orders"]["completions"] == 1, k["orders"]
    assert rewards(k["orders"]) == [(1, "al-1")], k["orders"]
    assert k["orders"]["activities"][0]["value"] == 1, k["orders"]
    # first: each completed on their own; the merge issues nothing more.
    assert rewards(k["first"]) == [(1, "kn-open")], k["first"]
    assert rewards(anon["first"]) == [(1, "an-open")], anon["first"]
    # shops: {r1, r2} ∪ {r2} = 2 at the alias; r3 under the anonymous id
    # completes for the known user.
    assert rewards(k["shops"]) == [(1, "after-1")], k["shops"]
    # The anonymous user is cleared: no values, no new completion.
    assert anon["orders"]["completions"] == 0 and anon["orders"]["rewards"] == [], anon
    assert anon["orders"]["activities"][0]["value"] == 0, anon["orders"]
    assert anon["shops"]["activities"][0]["value"] == 0, anon["shops"]
    ids = [r["reward_id"] for u in ("known-1", "anon-1") for p in a[u].values()
           for r in p["rewards"]]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    # Attributes: anon's plan is newer (-100 s) than known's (-200 s).
    u = a["user"]
    assert u["attributes"] == {"plan": "gold", "city": "Pune", "age": 30}, u
    assert [s["id"] for s in u["segments"]] == ["vip"], u
    # The later anonymous event is recorded for the known user.
    listed = [e.get("event_id") for e in a["events"]["events"]]
    assert "after-1" in listed and "kn-o1" in listed, listed


def test_alias_merges_exactly_once_across_crashes(data):
    t = create_tenant(data)
    key = t["admin_key"]
    d = Daemon(data, "--no-pipeline")
    for c in CAMPAIGNS:
        status, body = d.send_json("POST", "/v1/campaigns", c, key)
        assert status == 201, body
    status, body = d.send_json("POST", "/v1/segments", {"id": "vip", "type": "static"}, key)
    assert status == 201, body
    status, body = d.send_json("POST", "/v1/segments/vip/users", {"user_ids": ["anon-1"]}, key)
    assert status == 200, body
    preload(d, t)
    assert d.stop() == 0

    clean = data + "-clean"
    shutil.copytree(data, clean)
    out = json.loads(tallyd("pipeline", "run", data=clean, timeout=600).stdout)
    assert out["ok"], out
    kills = kill_during_catch_up(data, __import__("random").Random(7), "--pipeline-batch",
                                 "400", timeout=300)
    print("killed %d times during catch-up" % kills, flush=True)
    assert kills >= 1, "caught up before any kill"

    killed, calm = Daemon(data), Daemon(clean)
    killed.wait_processed()
    calm.wait_processed()
    got, want = answers(killed, key), answers(calm, key)
    check_merged(want)
    check_merged(got)
    for u in ("known-1", "anon-1"):
        for cid in want[u]:
            for r in want[u][cid]["rewards"] + got[u][cid]["rewards"]:
                r.pop("issued_at", None)
    assert got["known-1"] == want["known-1"] and got["anon-1"] == want["anon-1"]
    assert killed.stop() == 0 and calm.stop() == 0
    shutil.rmtree(clean, ignore_errors=True)


if __name__ == "__main__":
    run(globals())
