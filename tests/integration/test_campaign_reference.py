"""The reference implementation of the campaign rules (campaign_reference.py)
against hand-computed examples, one per rule: DST days and weeks, month
boundaries in Asia/Kolkata, a late event into a past window, a streak gap
filled late, the reset of a campaign window after each completion, a
calendar window completing once, 1 vs 1.0 vs "1" in distinct and eq, every
where op, bounds, accept gating, duplicates, seen/pristine, stats and
leaderboards; and the segment rules of segment_reference.py: rolling
window edges and the sweep, sum/where/any with attribute conditions, which
segments an event judges, entry times, and an alias's merge of attributes,
static memberships and campaign progress. The differential and crash tests
trust this reference, so it is proven first. No daemon is needed; it runs under the integration
harness like the others."""

from campaign_reference import (Reference, iso, longest_run, parse_iso, period_number,
                                where_holds, window_of)
from harness import run
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
T = parse_iso


def campaign(cid, activities, **kw):
    d = {"id": cid, "name": cid, "activities": activities,
         "reward": {"type": "points", "name": "coins", "amount": 10}}
    d.update(kw)
    return d


def count(event="order_placed", target=1, where=None, aid="a"):
    a = {"id": aid, "event": event, "measure": "count", "target": target}
    if where:
        a["where"] = where
    return a


class Feed:
    """Numbers event ids and fills the fields apply() needs."""

    def __init__(self, ref):
        self.ref, self.n = ref, 0

    def __call__(self, ts, user="u1", name="order_placed", received_at=None, event_id=None,
                 **props):
        self.n += 1
        ev = {"event_id": event_id or "e%d" % self.n, "event_name": name, "user_id": user,
              "timestamp": T(ts), "received_at": T(received_at) if received_at else T(ts),
              "properties": props}
        return self.ref.apply(ev)


def values(p):
    return {a["id"]: a["value"] for a in p["activities"]}


def test_time_helpers(data):
    assert T("2026-11-27T10:00:00.123Z") == 1795773600123
    assert iso(1795773600123) == "2026-11-27T10:00:00.123Z"
    assert T("2026-11-27T15:30:00+05:30") == T("2026-11-27T10:00:00Z")
    assert longest_run([5, 1, 2, 3, 7, 8]) == 3 and longest_run([]) == 0
    # Weeks are numbered so that consecutive weeks differ by one (Monday start).
    sun, mon = T("2026-11-29T12:00:00Z"), T("2026-11-30T12:00:00Z")
    utc = ZoneInfo("UTC")
    assert period_number("week", utc, mon) == period_number("week", utc, sun) + 1
    assert period_number("day", utc, mon) == period_number("day", utc, sun) + 1


def test_dst_days_and_weeks(data):
    # New York falls back on Sunday 2026-11-01: that day has 25 hours, and
    # the week Mon 2026-10-26 00:00 EDT .. Mon 2026-11-02 00:00 EST 169.
    day = window_of("day", NY, T("2026-11-01T12:00:00Z"))
    assert day == (T("2026-11-01T04:00:00Z"), T("2026-11-02T05:00:00Z"))
    assert (day[1] - day[0]) == 25 * 3600 * 1000
    week = window_of("week", NY, T("2026-11-02T04:59:59.999Z"))  # Sun 23:59:59.999 EST
    assert week == (T("2026-10-26T04:00:00Z"), T("2026-11-02T05:00:00Z"))
    assert window_of("week", NY, T("2026-11-02T05:00:00Z"))[0] == T("2026-11-02T05:00:00Z")
    # Spring forward on Sunday 2026-03-08: a 23-hour day.
    day = window_of("day", NY, T("2026-03-08T12:00:00Z"))
    assert day == (T("2026-03-08T05:00:00Z"), T("2026-03-09T04:00:00Z"))

    ref = Reference([campaign("dst-week", [count(target=2)], window="week",
                              timezone="America/New_York", max_completions=0)])
    ev = Feed(ref)
    ev("2026-10-26T04:00:00Z")       # Mon 00:00 EDT: first instant of the week
    ev("2026-11-02T04:30:00Z")       # Sun 23:30 EST: still the same week -> completes
    ev("2026-11-02T05:00:00Z")       # Mon 00:00 EST: the next week
    p = ref.progress_one("dst-week", "u1", T("2026-10-30T00:00:00Z"))
    assert values(p) == {"a": 2} and p["completions"] == 1 and p["steps_completed"] == 1
    assert (p["window_start"], p["window_end"]) == ("2026-10-26T04:00:00.000Z",
                                                    "2026-11-02T05:00:00.000Z")
    assert p["rewards"][0]["event_id"] == "e2"
    p = ref.progress_one("dst-week", "u1", T("2026-11-02T05:00:00Z"))
    assert values(p) == {"a": 1} and p["window_start"] == "2026-11-02T05:00:00.000Z"
    assert p["status"] == "in-progress"  # max_completions 0: never "completed"


def test_month_boundary_kolkata(data):
    jan = window_of("month", KOLKATA, T("2026-01-31T18:29:59.999Z"))  # Jan 31 23:59:59.999 IST
    feb = window_of("month", KOLKATA, T("2026-01-31T18:30:00Z"))      # Feb 1 00:00 IST
    assert jan == (T("2025-12-31T18:30:00Z"), T("2026-01-31T18:30:00Z"))
    assert feb == (T("2026-01-31T18:30:00Z"), T("2026-02-28T18:30:00Z"))
    ref = Reference([campaign("monthly", [{"id": "spend", "event": "order_placed",
                                           "measure": "sum", "property": "amount",
                                           "target": 100}],
                              window="month", timezone="Asia/Kolkata", max_completions=0)])
    ev = Feed(ref)
    ev("2026-01-31T18:29:59.999Z", amount=60)
    ev("2026-01-31T18:30:00Z", amount=60)     # February: does not add to January's 60
    ev("2026-02-01T10:00:00Z", amount=40.5)   # February: 100.5 -> completes February
    p = ref.progress_one("monthly", "u1", T("2026-01-15T00:00:00Z"))
    assert values(p) == {"spend": 60} and p["completions"] == 1 and not p["activities"][0]["met"]
    p = ref.progress_one("monthly", "u1", T("2026-02-20T00:00:00Z"))
    assert values(p) == {"spend": 100.5} and p["activities"][0]["met"]
    assert p["rewards"] == [{"completion": 1, "event_id": "e3", "type": "points",
                             "name": "coins", "amount": 10, "code": None}]


def test_late_event_counts_in_its_own_past_window(data):
    ref = Reference([campaign("daily", [count(target=2)], window="day", max_completions=0)])
    ev = Feed(ref)
    ev("2026-11-20T10:00:00Z")
    ev("2026-11-21T10:00:00Z")
    ev("2026-11-20T23:59:59.999Z")  # arrives later, belongs to the 20th: completes it
    ev("2026-11-21T00:00:00Z")      # the 21st: 2 -> completes the 21st
    p20 = ref.progress_one("daily", "u1", T("2026-11-20T12:00:00Z"))
    p21 = ref.progress_one("daily", "u1", T("2026-11-21T12:00:00Z"))
    p22 = ref.progress_one("daily", "u1", T("2026-11-22T12:00:00Z"))
    assert values(p20) == {"a": 2} and values(p21) == {"a": 2} and values(p22) == {"a": 0}
    assert [r["event_id"] for r in p22["rewards"]] == ["e3", "e4"] and p22["completions"] == 2
    assert p22["steps_completed"] == 0 and p20["steps_completed"] == 1


def test_streak_gap_filled_late_then_reset(data):
    streak = {"id": "days", "event": "app_opened", "measure": "streak", "period": "day",
              "target": 3}
    ref = Reference([campaign("streak", [streak], timezone="Asia/Kolkata", max_completions=2)])
    ev = Feed(ref)
    ev("2026-11-10T05:00:00Z", name="app_opened")   # IST Nov 10
    ev("2026-11-12T05:00:00Z", name="app_opened")   # IST Nov 12
    ev("2026-11-13T20:00:00Z", name="app_opened")   # IST Nov 14 01:30: a run of 1
    p = ref.progress_one("streak", "u1", 0)
    assert values(p) == {"days": 1} and p["completions"] == 0  # runs 10 | 12 | 14
    ev("2026-11-10T18:30:00Z", name="app_opened")   # IST Nov 11 00:00, late: 10-11-12
    p = ref.progress_one("streak", "u1", 0)
    # Completed with e4, then everything starts again from zero (reset).
    assert p["completions"] == 1 and values(p) == {"days": 0}
    assert p["rewards"][0]["event_id"] == "e4" and p["status"] == "in-progress"
    # Week streaks: Mon-Sun weeks; two events in one week are one period.
    wk = dict(streak, id="weeks", period="week", target=2)
    ref = Reference([campaign("wk", [wk], max_completions=0)])
    ev = Feed(ref)
    ev("2026-11-16T00:00:00Z", name="app_opened")   # Monday
    ev("2026-11-22T23:59:59Z", name="app_opened")   # Sunday, same week
    assert values(ref.progress_one("wk", "u1", 0)) == {"weeks": 1}
    ev("2026-11-23T00:00:00Z", name="app_opened")   # next Monday: completes
    assert ref.progress_one("wk", "u1", 0)["completions"] == 1


def test_campaign_window_resets_on_every_completion(data):
    ref = Reference([campaign("twice", [count(target=2)], max_completions=2)])
    ev = Feed(ref)
    for i in range(7):
        ev("2026-11-20T10:00:0%dZ" % i)
    p = ref.progress_one("twice", "u1", T("2020-01-01T00:00:00Z"))  # at changes nothing
    assert p["completions"] == 2 and p["status"] == "completed"
    assert values(p) == {"a": 0}  # reset after the last completion too; no more counting
    assert [r["event_id"] for r in p["rewards"]] == ["e2", "e4"]
    assert [r["completion"] for r in p["rewards"]] == [1, 2]
    assert p["window_start"] is None and p["window_end"] is None
    # Unlimited.
    ref = Reference([campaign("many", [count(target=2)], max_completions=0)])
    ev = Feed(ref)
    for i in range(7):
        ev("2026-11-20T10:00:0%dZ" % i)
    p = ref.progress_one("many", "u1", 0)
    assert p["completions"] == 3 and values(p) == {"a": 1} and p["status"] == "in-progress"
    # Default max_completions is 1.
    ref = Reference([campaign("once", [count(target=1)])])
    ev = Feed(ref)
    ev("2026-11-20T10:00:00Z")
    ev("2026-11-20T10:00:01Z")
    p = ref.progress_one("once", "u1", 0)
    assert p["completions"] == 1 and p["status"] == "completed" and values(p) == {"a": 0}


def test_calendar_window_completes_once(data):
    ref = Reference([campaign("day1", [count(target=1)], window="day", max_completions=0)])
    ev = Feed(ref)
    ev("2026-11-20T01:00:00Z")
    ev("2026-11-20T02:00:00Z")
    ev("2026-11-20T03:00:00Z")
    p = ref.progress_one("day1", "u1", T("2026-11-20T12:00:00Z"))
    assert p["completions"] == 1 and values(p) == {"a": 3}  # keeps counting, no 2nd completion
    ev("2026-11-21T03:00:00Z")
    assert ref.progress_one("day1", "u1", 0)["completions"] == 2
    # max 1 on a calendar window: completed, and stops counting everywhere.
    ref = Reference([campaign("d", [count(target=1)], window="day")])
    ev = Feed(ref)
    ev("2026-11-20T01:00:00Z")
    ev("2026-11-20T02:00:00Z")
    ev("2026-11-21T02:00:00Z")
    p = ref.progress_one("d", "u1", T("2026-11-20T12:00:00Z"))
    assert p["status"] == "completed" and values(p) == {"a": 1}
    assert values(ref.progress_one("d", "u1", T("2026-11-21T12:00:00Z"))) == {"a": 0}


def test_one_vs_one_point_zero_vs_string_one(data):
    props = [{"v": 1}, {"v": 1.0}, {"v": "1"}, {"v": True}, {"v": None}, {}, {"v": [1]},
             {"v": [1.0]}]
    for want, matches in [(1, [0, 1]), (1.0, [0, 1]), ("1", [2]), (True, [3])]:
        got = [i for i, p in enumerate(props) if where_holds({"path": "v", "op": "eq",
                                                              "value": want}, p)]
        assert got == matches, (want, got)
    assert [where_holds({"path": "v", "op": "in", "value": [1, "x"]}, p)
            for p in props] == [True, True, False, False, False, False, False, False]
    ref = Reference([campaign("dist", [{"id": "d", "event": "e", "measure": "distinct",
                                        "property": "v", "target": 100}])])
    ev = Feed(ref)
    for p in props:
        ev("2026-11-20T01:00:00Z", name="e", **p)
    # 1 (=1.0), "1", true, [1] (=[1.0]); null and missing add nothing.
    assert values(ref.progress_one("dist", "u1", 0)) == {"d": 4}
    assert ref.progress_one("dist", "u1", 0)["status"] == "in-progress"


def test_every_where_op(data):
    p = {"amount": 150, "city": "Bengaluru", "tier": "gold", "n": None,
         "order": {"items": 3, "pay": {"method": "upi"}}, "s": "120"}
    cases = [
        ("amount", "eq", 150, True), ("amount", "eq", 150.0, True), ("amount", "eq", "150", False),
        ("amount", "ne", 150, False), ("amount", "ne", 151, True), ("gone", "ne", 1, True),
        ("amount", "gt", 149.5, True), ("amount", "gt", 150, False), ("amount", "gte", 150, True),
        ("amount", "lt", 150, False), ("amount", "lte", 150, True),
        ("s", "gt", 100, False), ("s", "lt", 1000, False), ("gone", "lt", 1, False),
        ("tier", "in", ["gold", "silver"], True), ("tier", "in", ["Gold"], False),
        ("gone", "in", [None], False), ("tier", "nin", ["silver"], True),
        ("tier", "nin", ["gold"], False), ("gone", "nin", ["x"], True),
        ("n", "exists", True, True), ("gone", "exists", True, False),
        ("gone", "exists", False, True), ("city", "exists", False, False),
        ("city", "contains", "galu", True), ("city", "contains", "GALU", False),
        ("amount", "contains", "15", False), ("gone", "contains", "", False),
        ("order.items", "gte", 3, True), ("order.pay.method", "eq", "upi", True),
        ("order.pay.method.x", "exists", True, False), ("city.x", "exists", False, True),
        ("order.missing", "ne", "upi", True), ("n", "eq", None, True), ("n", "ne", 0, True),
    ]
    for path, op, value, want in cases:
        got = where_holds({"path": path, "op": op, "value": value}, p)
        assert got is want, (path, op, value, got)


def test_bounds_and_where_decide_seen(data):
    act = {"id": "spend", "event": "order_placed", "measure": "sum", "property": "amount",
           "target": 100, "where": [{"path": "city", "op": "eq", "value": "BLR"}]}
    ref = Reference([campaign("b", [act], starts_at="2026-11-10T00:00:00Z",
                              ends_at="2026-11-20T00:00:00Z")])
    ev = Feed(ref)
    ev("2026-11-09T23:59:59.999Z", amount=500, city="BLR")  # before starts_at
    ev("2026-11-20T00:00:00Z", amount=500, city="BLR")      # exactly at ends_at
    ev("2026-11-15T00:00:00Z", amount=500, city="DEL")      # where fails
    assert ref.progress_one("b", "u1", 0)["status"] == "pristine"
    ev("2026-11-10T00:00:00Z", amount="500", city="BLR")    # at starts_at; a string adds nothing
    p = ref.progress_one("b", "u1", 0)
    assert p["status"] == "in-progress" and values(p) == {"spend": 0}
    ev("2026-11-19T23:59:59.999Z", amount=99.5, city="BLR")
    ev("2026-11-19T23:59:59.999Z", amount=0.5, city="BLR")
    p = ref.progress_one("b", "u1", 0)
    assert p["completions"] == 1 and p["status"] == "completed"


def test_complete_when_any_and_all(data):
    acts = [count(target=2, aid="orders"), count(event="app_opened", target=1, aid="opens")]
    ref = Reference([campaign("all", acts, max_completions=0),
                     campaign("any", acts, complete_when="any", max_completions=0)])
    ev = Feed(ref)
    ev("2026-11-20T01:00:00Z", name="app_opened")   # any: completes (opens 1)
    ev("2026-11-20T02:00:00Z")
    ev("2026-11-20T03:00:00Z")                      # all: orders 2, opens 1 -> completes
    pa, pn = ref.progress_one("all", "u1", 0), ref.progress_one("any", "u1", 0)
    assert pa["completions"] == 1 and values(pa) == {"orders": 0, "opens": 0}
    assert pn["completions"] == 2 and values(pn) == {"orders": 0, "opens": 0}
    assert [r["event_id"] for r in pn["rewards"]] == ["e1", "e3"]
    assert pa["steps_total"] == 2


def test_one_event_adds_to_every_matching_activity(data):
    acts = [count(target=3, aid="orders"),
            {"id": "spend", "event": "order_placed", "measure": "sum", "property": "amount",
             "target": 100}]
    ref = Reference([campaign("two", acts)])
    ev = Feed(ref)
    ev("2026-11-20T01:00:00Z", amount=40)
    ev("2026-11-20T01:00:00Z", amount=40)
    p = ref.progress_one("two", "u1", 0)
    assert values(p) == {"orders": 2, "spend": 80} and p["steps_completed"] == 0
    ev("2026-11-20T01:00:00Z", amount=40)
    assert ref.progress_one("two", "u1", 0)["completions"] == 1


def test_accept_gating_duplicates_and_listing(data):
    ref = Reference([campaign("acc", [count(target=2)], enrollment="accept"),
                     campaign("auto", [count(target=50)]),
                     campaign("paused", [count(target=1)], status="paused"),
                     campaign("seg", [count(target=1)], segment="vip")])
    ev = Feed(ref)
    assert ref.listed("u1") == ["auto"]
    ev("2026-11-20T01:00:00Z", received_at="2026-11-27T10:00:00Z", event_id="x1")
    assert ref.accept("acc", "u1", T("2026-11-27T10:00:01Z")) == T("2026-11-27T10:00:01Z")
    assert ref.accept("acc", "u1", T("2026-11-27T11:00:00Z")) == T("2026-11-27T10:00:01Z")
    assert ref.listed("u1") == ["acc", "auto"] and ref.listed("u2") == ["auto"]
    assert ref.progress_one("acc", "u1", 0)["status"] == "pristine"  # x1 came before
    ev("2026-11-20T01:00:00Z", received_at="2026-11-27T10:00:01Z", event_id="x2")  # == counts
    assert values(ref.progress_one("acc", "u1", 0)) == {"a": 1}
    assert ev("2026-11-20T01:00:00Z", received_at="2026-11-27T10:00:02Z", event_id="x2") is False
    assert values(ref.progress_one("acc", "u1", 0)) == {"a": 1}  # the duplicate changed nothing
    assert values(ref.progress_one("auto", "u1", 0)) == {"a": 2}
    assert ref.progress_one("paused", "u1", 0) is None and ref.progress_one("seg", "u1", 0) is None
    # A pause loses the events processed meanwhile.
    ref.set_status("auto", "paused")
    ev("2026-11-20T01:00:00Z")
    ref.set_status("auto", "active")
    ev("2026-11-20T01:00:00Z")
    assert values(ref.progress_one("auto", "u1", 0)) == {"a": 3}


def test_stats_and_leaderboard(data):
    act = {"id": "spend", "event": "order_placed", "measure": "sum", "property": "amount",
           "target": 100}
    ref = Reference([campaign("lb", [act], window="day", max_completions=2)])
    ev = Feed(ref)
    ev("2026-11-20T01:00:00Z", user="a", amount=100)   # completes day 20
    ev("2026-11-21T01:00:00Z", user="a", amount=100)   # completes day 21: max reached
    ev("2026-11-20T02:00:00Z", user="b", amount=30)
    ev("2026-11-20T02:00:00Z", user="c", amount=30)
    ev("2026-11-20T02:00:00Z", user="d", amount="x")   # seen, value 0
    ev("2026-11-20T02:00:00Z", user="e", name="other")  # known, never seen
    s = ref.stats("lb", ref.users)
    assert s == {"campaign_id": "lb", "completions": 2, "rewards": 2,
                 "users": {"pristine": 1, "in_progress": 3, "completed": 1}}, s
    assert ref.leaderboard("lb", "spend", T("2026-11-20T12:00:00Z")) == \
        [("a", 100), ("b", 30), ("c", 30)]
    assert ref.leaderboard("lb", "spend", T("2026-11-21T12:00:00Z")) == [("a", 100)]


# ------------------------------------------------------------- segments ---

H = 3600000


def behaviour(event="order_placed", op="gte", value=2, within=None, measure="count", **kw):
    c = {"event": event, "measure": measure, "op": op, "value": value}
    if within:
        c["within"] = within
    c.update(kw)
    return c


def segment(sid, *conds, match=None):
    d = {"id": sid, "name": sid, "type": "event", "conditions": list(conds)}
    if match:
        d["match"] = match
    return d


def identify(ref, user, ts, received, event_id, **traits):
    return ref.profile({"event_id": event_id, "user_id": user, "timestamp": T(ts),
                        "traits": traits, "received_at": T(received)})


def test_rolling_window_edges_and_sweep(data):
    ref = Reference([], [segment("two-1d", behaviour(within="1d"))])
    ev = Feed(ref)
    now = T("2026-11-20T12:00:00Z")
    ref.set_clock(now)
    # ts <= clock - within is never kept; clock - within + 1 is.
    ev("2026-11-19T12:00:00Z", received_at="2026-11-20T12:00:01Z")
    ev("2026-11-19T12:00:00.001Z", received_at="2026-11-20T12:00:02Z")
    assert not ref.member("two-1d", "u1")
    ev("2026-11-20T11:00:00Z", received_at="2026-11-20T12:00:03Z")
    assert ref.seg.of_user("u1") == [("two-1d", (T("2026-11-20T12:00:03Z"),) * 2)]
    # The oldest counted event leaves at its ts + within: not a ms earlier.
    assert ref.set_clock(T("2026-11-20T12:00:00Z"), 5) == ([], [])
    judged, changed = ref.set_clock(T("2026-11-20T12:00:00.001Z"), 5)
    assert judged == [("two-1d", "u1")] and changed == ["u1"]
    assert not ref.member("two-1d", "u1") and ref.seg.changes["two-1d"] == [1, 1]
    # Judged again later: the one event left no longer counts; no recheck.
    assert ref.seg.recheck[("two-1d", "u1")] == T("2026-11-20T11:00:00Z") + 86400000
    ref.set_clock(T("2026-11-22T00:00:00Z"), 6)
    assert ref.seg.recheck[("two-1d", "u1")] is None


def test_sum_where_any_mixed_and_who_is_judged(data):
    spend = behaviour(measure="sum", property="amount", op="gt", value=100,
                      where=[{"path": "platform", "op": "eq", "value": "ios"}])
    ref = Reference([], [segment("ios-or-gold", {"path": "plan", "op": "eq", "value": "gold"},
                                 spend, match="any"),
                         segment("lapsed", behaviour(op="lt", value=1, within="1h")),
                         segment("no-orders", behaviour(op="eq", value=0))])
    ev = Feed(ref)
    ref.set_clock(T("2026-11-20T12:00:00Z"))
    ev("2026-11-20T11:00:00Z", amount=90, platform="ios")
    ev("2026-11-20T11:00:00Z", amount=500, platform="web")   # where fails: not summed
    ev("2026-11-20T11:00:00Z", amount="20", platform="ios")  # not a number: adds 0
    assert not ref.member("ios-or-gold", "u1")
    ev("2026-11-20T11:00:00Z", amount=10.5, platform="ios", received_at="2026-11-20T12:00:09Z")
    assert ref.seg.of_user("u1") == [("ios-or-gold", (T("2026-11-20T12:00:09Z"),) * 2)]
    # A profile update judges only segments with an attribute condition:
    # u2's empty history meets `lapsed` and `no-orders`, but nothing judged
    # them for u2; the attribute makes u2 a member of ios-or-gold.
    identify(ref, "u2", "2026-11-20T10:00:00Z", "2026-11-20T12:00:10Z", "p1", plan="gold")
    assert [sid for sid, _ in ref.seg.of_user("u2")] == ["ios-or-gold"]
    # An order outside the 1 h window is not kept: `lapsed` is not judged.
    ev("2026-11-20T10:00:00Z", user="u3", platform="web")
    assert [sid for sid, _ in ref.seg.of_user("u3")] == []
    # One inside is; the user enters when it leaves (sweep: entry time
    # known only as "not before the sweep").
    ev("2026-11-20T11:30:00Z", user="u4", platform="web")
    assert ref.seg.of_user("u4") == []
    judged, changed = ref.set_clock(T("2026-11-20T12:30:00Z"), 77)
    assert judged == [("lapsed", "u4")] and changed == ["u4"]
    assert ref.seg.of_user("u4") == [("lapsed", (77, None))]


def test_segment_campaign_counts_from_the_entering_event(data):
    ref = Reference([campaign("c", [count(target=3)], segment="two"),
                     campaign("cb", [count(target=3)], segment="two", count_before_entry=True)],
                    [segment("two", behaviour(value=2))])
    ev = Feed(ref)
    ev("2026-11-20T01:00:00Z")
    ev("2026-11-20T02:00:00Z")  # enters: this event counts for c
    assert values(ref.progress_one("c", "u1", 0)) == {"a": 1}
    assert values(ref.progress_one("cb", "u1", 0)) == {"a": 2}
    ev("2026-11-20T03:00:00Z")
    assert ref.progress_one("cb", "u1", 0)["completions"] == 1
    assert ref.progress_one("c", "u1", 0)["completions"] == 0


def test_alias_merges_segments_and_progress(data):
    ref = Reference([campaign("orders", [count(target=5)]),
                     campaign("daily", [count(target=2)], window="day", max_completions=0)],
                    [{"id": "vip", "name": "vip", "type": "static"},
                     segment("gold", {"path": "plan", "op": "eq", "value": "gold"}),
                     segment("two", behaviour(value=2))])
    ev = Feed(ref)
    ref.add_members("vip", ["anon", "k"], (1, 2))
    identify(ref, "anon", "2026-11-20T01:00:00Z", "2026-11-20T01:00:00Z", "p1", plan="gold",
             city="Pune")
    identify(ref, "k", "2026-11-20T01:00:00Z", "2026-11-20T01:00:01Z", "p2", plan="free",
             age=30)
    ev("2026-11-20T02:00:00Z", user="anon")
    ev("2026-11-20T03:00:00Z", user="anon")  # completes anon's day 20
    ev("2026-11-21T02:00:00Z", user="anon")
    ev("2026-11-19T02:00:00Z", user="anon")  # anon: 4 orders
    ev("2026-11-21T03:00:00Z", user="k")     # k: 1
    assert ref.member("two", "anon") and not ref.member("two", "k")
    al = {"event_id": "al-1", "user_id": "k", "previous_id": "anon",
          "timestamp": T("2026-11-21T04:00:00Z"), "received_at": T("2026-11-21T04:00:00Z")}
    assert ref.alias(al) is True and ref.alias(al) is False
    # A tie keeps the known user's value; missing keys are taken.
    assert {k: v for k, (v, _) in ref.seg.attributes["k"].items()} == \
        {"plan": "free", "city": "Pune", "age": 30}
    # vip stays as it was (k was a member); counts are not moved.
    assert ref.seg.of_user("k") == [("vip", (1, 2))]
    # orders: 4 + 1 = 5 completes at the alias (values reset).
    p = ref.progress_one("orders", "k", 0)
    assert [(r["completion"], r["event_id"]) for r in p["rewards"]] == [(1, "al-1")], p
    assert values(p) == {"a": 0} and p["status"] == "completed"
    q = ref.progress_one("orders", "anon", 0)
    assert values(q) == {"a": 0} and q["status"] == "in-progress", q
    # daily: anon's completed day 20 is left out; day 21 (1 + 1) completes
    # at the alias; day 19 merges without completing.
    d = ref.progress_one("daily", "k", T("2026-11-21T12:00:00Z"))
    assert [(r["completion"], r["event_id"]) for r in d["rewards"]] == [(1, "al-1")], d
    assert values(d) == {"a": 2}
    assert values(ref.progress_one("daily", "k", T("2026-11-20T12:00:00Z"))) == {"a": 0}
    assert values(ref.progress_one("daily", "k", T("2026-11-19T12:00:00Z"))) == {"a": 1}
    assert values(ref.progress_one("daily", "anon", T("2026-11-20T12:00:00Z"))) == {"a": 0}
    assert ref.progress_one("daily", "anon", 0)["rewards"][0]["event_id"] == "e2"
    # Later events of the previous id count for the known user: its own
    # behaviour count reaches 2 now (the anonymous events never moved).
    ev("2026-11-21T05:00:00Z", user="anon", received_at="2026-11-21T05:00:00Z")
    assert ref.redirected == 1
    assert ref.seg.of_user("k") == [("two", (T("2026-11-21T05:00:00Z"),) * 2),
                                    ("vip", (1, 2))]
    assert values(ref.progress_one("orders", "k", 0)) == {"a": 0}  # completed: stopped
    assert values(ref.progress_one("daily", "k", T("2026-11-21T12:00:00Z"))) == {"a": 3}
    # The attribute segment is judged again at the alias.
    ref2 = Reference([], [{"id": "vip", "name": "vip", "type": "static"},
                          segment("gold", {"path": "plan", "op": "eq", "value": "gold"})])
    ref2.add_members("vip", ["a2"])
    identify(ref2, "a2", "2026-11-20T02:00:00Z", "2026-11-20T02:00:00Z", "p1", plan="gold")
    identify(ref2, "k2", "2026-11-20T01:00:00Z", "2026-11-20T02:00:01Z", "p2", plan="free")
    ref2.alias({"event_id": "al", "user_id": "k2", "previous_id": "a2",
                "timestamp": T("2026-11-21T00:00:00Z"), "received_at": 50, "received_hi": 60})
    assert ref2.seg.of_user("k2") == [("gold", (50, 60)), ("vip", (50, 60))]
    assert ref2.seg.of_user("a2") == [("gold", (T("2026-11-20T02:00:00Z"),) * 2),
                                      ("vip", (0, None))]


if __name__ == "__main__":
    run(globals())
