"""Exactly once across crashes: a backlog of over 100,000 events (with many
duplicates and some bad items) is preloaded with the pipeline off. One
copy of the data directory is processed cleanly by `tallyd pipeline run`;
the other by the daemon while it is killed with SIGKILL again and again
during catch-up. Afterwards both must hold the same state: the same
processed events per user, the same duplicate counts, the same failed
items."""

import json
import os
import random
import shutil
import sqlite3

from harness import Daemon, create_tenant, iso_now, kill_during_catch_up, run, tallyd

EVENTS = 110_000
USERS = 5_000
BATCH = 500


def preload(data, key):
    d = Daemon(data, "--no-pipeline")
    rng = random.Random(7)
    sent = []
    n = 0
    conn = d.conn(timeout=60)
    while n < EVENTS:
        batch = []
        for _ in range(BATCH):
            if sent and rng.random() < 0.15:
                eid = rng.choice(sent)  # resent: a duplicate
            else:
                eid = "e%06d" % n
                sent.append(eid)
            ev = {"event_id": eid, "event_name": rng.choice(["order_placed", "app_opened"]),
                  "user_id": "u%d" % (int(eid[1:]) % USERS),
                  "timestamp": iso_now(-rng.uniform(0, 5 * 86400)),
                  "event_properties": {"amount": rng.randint(1, 999)}}
            if rng.random() < 0.002:
                ev["timestamp"] = "2001-01-01T00:00:00Z"  # fails: too old
            batch.append(ev)
            n += 1
        conn.request("POST", "/server/v4/batch", body=json.dumps({"events": batch}),
                     headers={"X-API-KEY": key})
        r = conn.getresponse()
        assert r.status == 200, r.read()
        r.read()
    conn.close()
    assert d.stop() == 0


def state_of(data):
    db = sqlite3.connect(os.path.join(data, "state.db"))
    per_user = dict(db.execute(
        "SELECT user_id, count(*) FROM events GROUP BY user_id").fetchall())
    dups = db.execute("SELECT sum(duplicates), count(*) FROM events").fetchone()
    failed = sorted(db.execute(
        "SELECT log_offset, item, reason FROM failed_events").fetchall())
    position = db.execute("SELECT position FROM consumers WHERE name = 'pipeline'").fetchone()
    db.close()
    return per_user, dups, failed, position


def test_sigkill_during_catch_up_changes_nothing(data):
    t = create_tenant(data)
    preload(data, t["write_key"])
    clean = data + "-clean"
    shutil.copytree(data, clean)
    out = json.loads(tallyd("pipeline", "run", data=clean, timeout=600).stdout)
    assert out["ok"] and out["processed"] + out["duplicates"] + out["failed"] == EVENTS, out
    assert out["duplicates"] > EVENTS // 10 and out["failed"] > 0, out

    # Small batches: many commits to kill between.
    kills = kill_during_catch_up(data, random.Random(11), "--pipeline-batch", "3000")
    assert kills >= 3, "caught up before enough kills to prove anything (%d)" % kills
    got, want = state_of(data), state_of(clean)
    assert got[0] == want[0], "processed events per user differ"
    assert got[1] == want[1], "duplicate counts differ: %s vs %s" % (got[1], want[1])
    assert got[2] == want[2], "failed items differ"
    assert got[3] == want[3]
    assert sum(got[0].values()) == out["processed"]
    shutil.rmtree(clean, ignore_errors=True)


if __name__ == "__main__":
    run(globals())
