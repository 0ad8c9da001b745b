"""Differential test of the campaign engine: tally against a second,
deliberately simple implementation of the rules (campaign_reference.py).

A seeded random set of 24 active campaigns (every measure, window and where
op; UTC, Asia/Kolkata, Asia/Kathmandu and the DST zones America/New_York,
Europe/Berlin and Australia/Sydney; bounds cutting windows; max_completions
0-3; any/all; three `accept` campaigns) plus a paused and a draft one is
created through POST /v1/campaigns, and six campaigns restricted to
segments (with and without count_before_entry): a static segment whose
members are added through the API before the stream, and two event
segments with attribute conditions (plan; country or age, match any) on
the attributes identify calls set during the stream (Segment tracking API,
event times out of order, so last write wins by time decides; users enter
and leave). Behaviour-condition segments are not modelled by the
reference, so not used here. A stream of events over many users
(out-of-order timestamps reaching a year back, so the tenant's horizon is
widened first; resent event_ids; a few invalid items; acceptances and a
pause between batches) goes through POST /server/v4/batch in a known
order on one connection. Once the pipeline has caught up, every user's
GET /v1/users/{u}/campaigns at several `at` times (recent days, around the
DST changes of the last year, around a month start, far back), every
campaign's stats and every activity's leaderboard must equal the
reference's. Differences are listed: user, campaign, at, field, expected
vs got, and the reference's trace of that user's events.

Size: 100,000 events over 2,000 users; against the ASan+UBSan build
(TALLYD names tallyd_asan) 20,000 over 400. TALLY_CAMPAIGN_EVENTS and
TALLY_CAMPAIGN_USERS override both; TALLY_CAMPAIGN_SEED sets the seed
(default 20261127, `random` picks one; printed at the start of every run; times are generated relative to the
run's start, so a seed gives the same stream shifted to that moment, its
DST and month clusters at the changes of the year before it). TALLY_CAMPAIGN_DRY=1 only generates
the campaigns and the stream and runs the reference (no daemon), printing
what the stream exercises.

Exits 77 (skipped, for ctest) while tallyd has no campaign API.
"""

import os
import random
import sys
import time

import campaign_stream as cs
from campaign_reference import Reference, iso, parse_iso
from harness import TALLYD, Daemon, create_tenant, run

ASAN = "asan" in os.path.basename(TALLYD)
EVENTS = int(os.environ.get("TALLY_CAMPAIGN_EVENTS") or (20_000 if ASAN else 100_000))
USERS = int(os.environ.get("TALLY_CAMPAIGN_USERS") or (400 if ASAN else 2_000))
# A fixed seed by default, checked to cover every campaign at both sizes, so
# that CI is repeatable; TALLY_CAMPAIGN_SEED=random explores others.
_seed = os.environ.get("TALLY_CAMPAIGN_SEED") or "20261127"
SEED = random.SystemRandom().randrange(1 << 31) if _seed == "random" else int(_seed)
PAUSED_MID_STREAM = 5  # index of the campaign paused for a part of the stream


def generate(now):
    rng = random.Random(SEED)
    defs = cs.make_campaigns(rng, now)
    accept_ids = [x["id"] for x in defs if x.get("enrollment") == "accept"]
    stream = cs.Stream(rng, now, EVENTS, USERS, accept_ids=accept_ids,
                       pause_id=defs[PAUSED_MID_STREAM]["id"])
    defs += cs.make_segment_campaigns(rng, now)
    cs.add_profile_updates(rng, stream, now)
    members = cs.static_members(rng, stream)
    return defs, stream, members


def check_coverage(ref):
    rows = cs.coverage(ref)
    print(cs.fmt_coverage(rows), flush=True)
    active = [r for r in rows if not r[0].startswith("z-")]
    completing = [r for r in active if r[2] > 0]
    # The test proves little if the stream moves nobody: most campaigns must
    # see events and complete.
    assert all(r[1] > 0 for r in active), "campaigns that saw no event: %s" % [
        r[0] for r in active if r[1] == 0]
    assert len(completing) >= len(active) * 2 // 3, "only %d of %d campaigns completed" % (
        len(completing), len(active))
    assert all(r[1] == 0 for r in rows if r[0].startswith("z-"))


def test_engine_equals_reference(data):
    print("seed %d (TALLY_CAMPAIGN_SEED), %d events, %d users%s" % (
        SEED, EVENTS, USERS, ", ASan build" if ASAN else ""), flush=True)
    t = create_tenant(data)
    d = Daemon(data)
    api = cs.Api(d, t["admin_key"])
    cs.skip_without_campaigns(d, t["admin_key"])
    cs.set_horizon(api)
    now = cs.ms_now()
    defs, stream, members = generate(now)
    ref = Reference(defs, cs.SEGMENTS)
    cs.create_segments(api, ref, members)
    cs.create_campaigns(api, defs)
    status, listed = api.call("GET", "/v1/campaigns")
    assert status == 200 and [c["id"] for c in listed["campaigns"]] == sorted(
        x["id"] for x in defs), listed

    start = time.monotonic()
    cs.send_stream(d, t["write_key"], api, stream, ref, defs=defs)
    sent = time.monotonic()
    d.wait_processed(timeout=1800)
    print("sent %d items in %.1fs, processed %.1fs later" % (
        len(stream.items), sent - start, time.monotonic() - sent), flush=True)
    check_coverage(ref)
    # The pipeline processed exactly the events the reference applied: the
    # generator's idea of duplicates and invalid items is the pipeline's.
    processed = d.metrics()['tally_pipeline_events_total{result="processed"}']
    assert processed == len(ref.event_ids), (processed, len(ref.event_ids))

    # The invalid items were not counted: failed, or refused at ingest.
    for eid in stream.invalid:
        status, e = api.call("GET", "/v1/events/" + eid)
        assert status == 404 or e["status"] == "failed", (eid, status, e)

    ats = cs.query_times(now)
    users = stream.users + ["nobody-1", "nobody-2"]
    start = time.monotonic()
    diffs, compared, reward_ids = cs.compare_users(api, ref, users, ats)
    diffs += cs.compare_stats_and_leaderboards(api, ref, [now, now - 6 * cs.DAY])
    print("compared %d progress answers at %d times in %.1fs; %d rewards" % (
        compared, len(ats), time.monotonic() - start, len(reward_ids)), flush=True)
    # One campaign alone; not listed when not active.
    u = stream.users[0]
    for cid in sorted(ref.campaigns):
        status, p = api.call("GET", "/v1/users/%s/campaigns/%s?at=%s" % (u, cid, iso(now)))
        want = ref.progress_one(cid, u, now)
        if want is None:
            if status != 404:
                diffs.append("GET one %s for %s: expected 404, got %s" % (cid, u, status))
        elif status != 200:
            diffs.append("GET one %s for %s: HTTP %s %s" % (cid, u, status, p))
        else:
            cs.compare_p(want, p, ref.campaigns[cid], "user=%s at=%s (one)" % (u, iso(now)),
                         diffs, {})
    # Without `at`: the window of now, and the answer says which `at` it used.
    for u in stream.users[:20]:
        status, body = api.call("GET", "/v1/users/%s/campaigns" % u)
        at = parse_iso(body["at"])
        assert status == 200 and abs(at - cs.ms_now()) < 60000, body
        want = ref.progress(u, at)
        if [p["campaign_id"] for p in want] != [p["campaign_id"] for p in body["campaigns"]]:
            diffs.append("user=%s without at: campaigns listed differ" % u)
            continue
        for w, g in zip(want, body["campaigns"]):
            cs.compare_p(w, g, ref.campaigns[w["campaign_id"]], "user=%s at=(none)" % u, diffs,
                         {})
    assert not diffs, "seed %d: %d difference(s) from the reference; the first:\n%s" % (
        SEED, sum(1 for x in diffs if not x.startswith("  ")), "\n".join(diffs[:60]))
    assert d.stop() == 0


def dry_run():
    now = cs.ms_now()
    print("seed %d, %d events, %d users (dry run: no daemon)" % (SEED, EVENTS, USERS))
    start = time.monotonic()
    defs, stream, members = generate(now)
    ref = Reference(defs, cs.SEGMENTS)
    ref.add_members("vip", members)
    accepted = 0
    for idx, (item, info) in enumerate(stream.items):
        for act in stream.actions.get(idx, ()):
            if act[0] == "identify":
                for m, ms in act[1]:
                    ref.profile({"event_id": m["messageId"], "user_id": m["userId"],
                                 "timestamp": ms, "traits": m["traits"]})
            elif act[0] == "accept":
                ref.accept(act[1], act[2], now + idx)
                accepted += 1
            else:
                ref.set_status(act[1], act[2])
        if info is not None:
            ref.apply({"event_id": item["event_id"], "event_name": item["event_name"],
                       "user_id": item["user_id"], "timestamp": info["timestamp"],
                       "received_at": now + idx, "properties": item["event_properties"]})
    print("generated and applied in %.1fs: %d items, %d invalid, %d processed, %d accepts" % (
        time.monotonic() - start, len(stream.items), len(stream.invalid), len(ref.event_ids),
        accepted))
    check_coverage(ref)
    start = time.monotonic()
    n = sum(len(ref.progress(u, at)) for at in cs.query_times(now) for u in stream.users)
    print("%d reference progress answers in %.1fs" % (n, time.monotonic() - start))


if __name__ == "__main__":
    if os.environ.get("TALLY_CAMPAIGN_DRY"):
        dry_run()
        sys.exit(0)
    run(globals())
