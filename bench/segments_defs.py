#!/usr/bin/env python3
"""Creates COUNT event segments for bench/segments.sh through POST
/v1/segments (127.0.0.1 only; every answer must be 201, else this exits 1).

The segments are those a real tenant keeps: each names one or two of the
ten events bench/pipeline_load.py sends (order_placed, page_view, …, in
turn, so with 100 segments every event name is named by 10 to 20
behaviour conditions), mixing measures (count, sum of a numeric
property), rolling windows (1h to 30d, and all time), where filters
(numbers, strings, in, exists), thresholds, attribute conditions on the
user's attributes (plan, country, age) and match all/any. An event is
therefore looked at by every segment that names it: what is measured is
the cost of keeping 100 segments current, not of skipping them.

Prints one JSON line: created, behaviour (conditions), attribute
(conditions), seconds.
"""
import json
import sys

import admin_post

NAMES = ["page_view", "button_click", "add_to_cart", "search", "signup_started",
         "order_placed", "video_played", "app_opened", "item_viewed", "checkout_started"]
WITHIN = ["1h", "24h", "7d", "30d", None]
WHERES = [
    [],
    [{"path": "amount", "op": "gte", "value": 100}],
    [{"path": "plan", "op": "in", "value": ["pro", "team", "enterprise"]}],
    [{"path": "platform", "op": "ne", "value": "desktop"}],
    [{"path": "currency", "op": "eq", "value": "INR"}],
    [{"path": "quantity", "op": "exists", "value": True}],
]
ATTRS = [
    {"path": "plan", "op": "eq", "value": "pro"},
    {"path": "country", "op": "in", "value": ["IN", "US", "DE"]},
    {"path": "age", "op": "gte", "value": 18},
]


def behaviour(i, j):
    name = NAMES[(i + 3 * j) % len(NAMES)]
    c = {"event": name, "where": WHERES[(i + j) % len(WHERES)], "op": "gte"}
    within = WITHIN[(i // 2 + j) % len(WITHIN)]
    if within:
        c["within"] = within
    if (i + j) % 4 == 3:
        c["measure"] = "sum"
        c["property"] = "amount" if (i + j) % 8 == 3 else "duration_ms"
        c["value"] = 500 + 250 * (i % 7)
    else:
        c["value"] = 1 + (i + j) % 5
    return c


def definition(i):
    conds = [behaviour(i, 0)]
    if i % 3 == 1:
        conds.append(behaviour(i, 1))
    if i % 4 == 2:
        conds.append(ATTRS[i % len(ATTRS)])
    d = {"id": "bench-seg-%04d" % i, "name": "bench segment %d" % i, "type": "event",
         "conditions": conds}
    if i % 5 == 4:
        d["match"] = "any"
    return d


def main():
    a = admin_post.args("segments_defs.py")
    defs = [definition(i) for i in range(a.count)]
    nb = sum(1 for d in defs for x in d["conditions"] if "event" in x)
    na = sum(1 for d in defs for x in d["conditions"] if "event" not in x)
    seconds = admin_post.post_all("segments_defs.py", a, "/v1/segments", "segment", defs)
    print(json.dumps({"created": a.count, "behaviour": nb, "attribute": na, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
