"""Campaign progress and rewards are exactly-once across crashes.

With the pipeline off, the generated campaigns of campaign_stream.py are
created and a backlog of events (late timestamps, resends, invalid items,
acceptances between batches) is preloaded. One copy of the data directory
is processed cleanly by `tallyd pipeline run`; the other by the daemon
while it is SIGKILLed again and again during catch-up (in transactions of
3,000 events, the clean run in its default 20,000). Afterwards both
must answer the same progress for every user (GET /v1/users/{u}/campaigns
at several times, rewards with their reward_id included, issued_at aside),
the same stats, the same number of outbox rows; no reward_id may appear
twice; and both must equal the reference (campaign_reference.py).

Size: 100,000 events over 1,500 users (ASan+UBSan build: 30,000 over 300;
TALLY_CRASH_EVENTS / TALLY_CRASH_USERS override). TALLY_CAMPAIGN_SEED fixes
the seed, printed at the start. Exits 77 (skipped, for ctest) while tallyd
has no campaign API.
"""

import json
import os
import random
import shutil
import sqlite3
import urllib.parse

import campaign_stream as cs
from campaign_reference import Reference, iso
from harness import TALLYD, Daemon, create_tenant, kill_during_catch_up, run, tallyd

ASAN = "asan" in os.path.basename(TALLYD)
EVENTS = int(os.environ.get("TALLY_CRASH_EVENTS") or (30_000 if ASAN else 100_000))
USERS = int(os.environ.get("TALLY_CRASH_USERS") or (300 if ASAN else 1_500))
SEED = int(os.environ.get("TALLY_CAMPAIGN_SEED") or random.SystemRandom().randrange(1 << 31))


def progress_of(d, key, users, ats):
    """{(user, at): [P without issued_at]} as the daemon answers."""
    api = cs.Api(d, key)
    out = {}
    for at in ats:
        for u in users:
            status, body = api.call("GET", "/v1/users/%s/campaigns?at=%s" % (
                u, urllib.parse.quote(iso(at))))
            assert status == 200, body
            for p in body["campaigns"]:
                for r in p.get("rewards", []):
                    r.pop("issued_at", None)
            out[(u, at)] = body["campaigns"]
    api.close()
    return out


def stats_of(d, key, ids):
    api = cs.Api(d, key)
    out = {cid: api.call("GET", "/v1/campaigns/%s/stats" % cid) for cid in ids}
    api.close()
    return out


def outbox_rows(data):
    db = sqlite3.connect(os.path.join(data, "state.db"))
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
                          ).fetchone():
            return None
        return db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def test_sigkill_during_campaign_processing_changes_nothing(data):
    print("seed %d (TALLY_CAMPAIGN_SEED), %d events, %d users%s" % (
        SEED, EVENTS, USERS, ", ASan build" if ASAN else ""), flush=True)
    t = create_tenant(data)
    d = Daemon(data, "--no-pipeline")
    api = cs.Api(d, t["admin_key"])
    cs.skip_without_campaigns(d, t["admin_key"])
    cs.set_horizon(api)
    now = cs.ms_now()
    rng = random.Random(SEED)
    defs = cs.make_campaigns(rng, now)
    accept_ids = [x["id"] for x in defs if x.get("enrollment") == "accept"]
    stream = cs.Stream(rng, now, EVENTS, USERS, accept_ids=accept_ids)
    cs.create_campaigns(api, defs)
    ref = Reference(defs)
    cs.send_stream(d, t["write_key"], api, stream, ref, defs=defs)
    api.close()
    assert d.stop() == 0

    clean = data + "-clean"
    shutil.copytree(data, clean)
    out = json.loads(tallyd("pipeline", "run", data=clean, timeout=1800).stdout)
    assert out["ok"] and out["processed"] == len(ref.event_ids), (out, len(ref.event_ids))

    # Small transactions (the default is 20,000 events): many chances to die
    # between and inside them.
    kills = kill_during_catch_up(data, random.Random(SEED), "--pipeline-batch", "3000",
                                 timeout=600)
    print("killed %d times during catch-up" % kills, flush=True)
    assert kills >= 3, "caught up before enough kills to prove anything (%d)" % kills

    users = stream.users
    ats = [now, now - 6 * cs.DAY] + cs.query_times(now)[4:6]
    killed, calm = Daemon(data), Daemon(clean)
    killed.wait_processed()
    calm.wait_processed()
    got, want = progress_of(killed, t["admin_key"], users, ats), \
        progress_of(calm, t["admin_key"], users, ats)
    diffs = ["user=%s at=%s: after kills %s\n  clean run   %s" % (
        k[0], iso(k[1]), json.dumps(got[k]), json.dumps(want[k]))
        for k in sorted(want) if got.get(k) != want[k]]
    assert not diffs, "seed %d: %d answers differ from the clean run; the first:\n%s" % (
        SEED, len(diffs), "\n".join(diffs[:5]))
    ids = sorted(c for c in ref.campaigns if ref.campaigns[c].counts_anybody())
    assert stats_of(killed, t["admin_key"], ids) == stats_of(calm, t["admin_key"], ids)

    # No reward twice, and both equal the reference.
    rewards = [r["reward_id"] for k, ps in got.items() if k[1] == now for p in ps
               for r in p.get("rewards", [])]
    assert len(rewards) == len(set(rewards)), "a reward_id was issued twice"
    assert len(rewards) == sum(st.completions for st in ref.state.values())
    api = cs.Api(killed, t["admin_key"])
    diffs, _, _ = cs.compare_users(api, ref, users, ats)
    api.close()
    assert not diffs, "seed %d: differences from the reference:\n%s" % (
        SEED, "\n".join(diffs[:40]))
    assert killed.stop() == 0 and calm.stop() == 0
    assert outbox_rows(data) == outbox_rows(clean)
    shutil.rmtree(clean, ignore_errors=True)


if __name__ == "__main__":
    run(globals())
