#!/usr/bin/env python3
"""Creates COUNT active campaigns for bench/engine.sh through POST
/v1/campaigns (127.0.0.1 only; every answer must be 201, else this exits 1).

The first min(COUNT, 10) campaigns name events that bench/pipeline_load.py
sends (order_placed, app_opened, page_view, add_to_cart, …) with a mix of
measures (count, sum of amount, distinct plan, day streak), windows
(campaign, day, week, month), time zones (UTC, Asia/Kolkata,
America/New_York), where conditions and repeat rules: the campaigns a real
tenant runs. The others name events that are never sent
("bench_unused_0010", …), so with 1,000 campaigns every event still matches
the same ten: what is measured is what the other 990 cost an event that
does not concern them (the issue: an event touches only campaigns that
name it).

Prints one JSON line: created, matching, seconds.
"""
import json
import sys

import admin_post

MATCHING = [
    # (event, measure, property, window, timezone, where, target, max_completions)
    ("order_placed", "count", None, "week", "Asia/Kolkata",
     [{"path": "amount", "op": "gte", "value": 100}], 3, 0),
    ("order_placed", "sum", "amount", "campaign", "UTC", [], 20000, 1),
    ("app_opened", "streak", None, "campaign", "Asia/Kolkata", [], 5, 1),
    ("page_view", "count", None, "day", "America/New_York",
     [{"path": "path", "op": "contains", "value": "pricing"}], 2, 0),
    ("add_to_cart", "sum", "quantity", "month", "UTC",
     [{"path": "in_stock", "op": "eq", "value": True}], 20, 2),
    ("search", "count", None, "campaign", "UTC", [], 10, 0),
    ("signup_started", "distinct", "plan", "campaign", "UTC",
     [{"path": "plan", "op": "in", "value": ["pro", "team", "enterprise"]}], 2, 1),
    ("video_played", "sum", "duration_ms", "day", "Asia/Kolkata",
     [{"path": "duration_ms", "op": "gt", "value": 1000}], 120000, 0),
    ("item_viewed", "count", None, "week", "America/New_York",
     [{"path": "platform", "op": "ne", "value": "desktop"}], 5, 3),
    ("checkout_started", "count", None, "month", "Asia/Kolkata",
     [{"path": "currency", "op": "nin", "value": ["GBP"]},
      {"path": "amount", "op": "exists", "value": True}], 4, 1),
]


def definition(i):
    if i < len(MATCHING):
        event, measure, prop, window, tz, where, target, maxc = MATCHING[i]
    else:
        event, measure, prop, window, tz, where, target, maxc = (
            "bench_unused_%04d" % i, "count", None, ["campaign", "day", "week"][i % 3],
            "Asia/Kolkata", [{"path": "amount", "op": "gte", "value": i % 500}], 3, 1)
    act = {"id": "a", "event": event, "measure": measure, "target": target}
    if prop:
        act["property"] = prop
    if where:
        act["where"] = where
    if measure == "streak":
        act["period"] = "day"
    return {"id": "bench-%04d" % i, "name": "bench campaign %d" % i, "timezone": tz,
            "window": window, "max_completions": maxc, "activities": [act],
            "reward": {"type": "points", "name": "10 coins", "amount": 10}}


def main():
    a = admin_post.args("engine_campaigns.py")
    seconds = admin_post.post_all("engine_campaigns.py", a, "/v1/campaigns", "campaign",
                                  (definition(i) for i in range(a.count)))
    print(json.dumps({"created": a.count, "matching": min(a.count, len(MATCHING)),
                      "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
