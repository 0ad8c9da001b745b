"""A second, deliberately simple implementation of tally's segment rules
(README, "Segments" and "Users": identity merge), used beside the campaign
reference (campaign_reference.py, which owns one Segments and asks it who
is a member) by the differential test. Plain dicts and lists; every count
recomputed from the kept events when a segment is judged.

The rules modelled (the README's, read as segment_eval.h implements them):

 1. Static segments: members given to add_members() (the API), and, at an
    alias, the previous user's static memberships copied to the known user
    (entered at the alias's receive time; a membership the known user has
    stays as it is).
 2. Event segments: conditions are attribute conditions (a campaign
    `where` on the user's attributes, merged last write wins by event
    time, a tie going to the later in log order) and behaviour conditions
    (count or sum of `property` over the user's events named `event` whose
    `where` holds, within the last `within` counted back from the segment
    clock, compared by op with value); `match` all (default) or any.
 3. Which segments are judged when: a track event whose name and `where`
    match a behaviour condition is kept for that condition unless its time
    is already out of the window (ts <= clock - within); each segment so
    touched is judged for the user. A profile update or an alias (for the
    known user) judges every segment with an attribute condition. Nothing
    else judges a user: a user never judged is no member, even of a
    segment whose conditions an empty history meets (count lt 1).
 4. Judging counts the kept events with ts >= clock - within + 1 (all of
    them without `within`). Entry time: the receive time of the event that
    caused the judgement; an exit forgets it. Each entry and exit of an
    event segment is one outbox entry (segment_entered / segment_exited,
    numbered 1, 2, … per segment and user, `at` the time of the change);
    static changes write none.
 5. Rolling windows: each judgement of a segment with a `within` notes the
    moment its oldest counted windowed event leaves (ts + within); when the
    clock reaches it, the sweep judges the user again (entry time: the wall
    clock of the sweep, so the reference knows it only as "not before the
    clock was set").
 6. Alias (previous -> known): attributes merge key by key, last write wins
    by the time each was set (a tie keeps the known user's value); the
    previous user keeps its own attributes and memberships; behaviour
    counts are not moved. Later events of the previous id are given here
    under the known user's id by the caller (campaign_reference.Reference).

Receive times are ranges (lo, hi): the driver knows a request's receive
time only as "after I sent it, before it answered" (all items of one
request share it). A sweep's entry is (lo, None): not before lo.
"""

import re

from campaign_reference import get_path, is_number, iso, where_holds

UNITS = {"s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 7 * 86400000}


def within_ms(text):
    """'30d' -> ms; None (all time) -> 0."""
    if text is None:
        return 0
    m = re.fullmatch(r"([0-9]+)([smhdw])", text)
    assert m, "within: " + text
    return int(m.group(1)) * UNITS[m.group(2)]


def compare(op, x, value):
    return {"eq": x == value, "ne": x != value, "gt": x > value, "gte": x >= value,
            "lt": x < value, "lte": x <= value}[op]


class Segments:
    def __init__(self, definitions):
        self.defs = {}
        for sd in definitions:
            sd = dict(sd)
            conds = []
            for c in sd.get("conditions", []):
                c = dict(c)
                c["behaviour"] = "event" in c
                if c["behaviour"]:
                    c.setdefault("where", [])
                    c["within_ms"] = within_ms(c.get("within"))
                conds.append(c)
            sd["conds"] = conds
            sd["has_attr"] = any(not c["behaviour"] for c in conds)
            sd["windowed"] = any(c["behaviour"] and c["within_ms"] for c in conds)
            self.defs[sd["id"]] = sd
        self.members = {sid: {} for sid in self.defs}  # sid -> {user: (lo, hi)}
        self.attributes = {}  # user -> {key: (value, event time)}
        self.kept = {}        # (sid, cond index, user) -> [(ts, value)]
        self.recheck = {}     # (sid, user) -> ms: the sweep judges again then
        self.clock = 0
        self.changes = {sid: [0, 0] for sid in self.defs}  # entries, exits
        self.log = {}         # user -> lines of what changed their memberships
        self.copied = 0       # static memberships copied at aliases
        self.history = {}     # (sid, user) -> [(outbox kind, time range)]
        self.watch_from = {}  # outbox entries by kind when watch() was called

    # -------------------------------------------------------- inputs ---

    def add_members(self, sid, users, at=(0, None)):
        assert self.defs[sid]["type"] == "static"
        for u in users:
            self.members[sid].setdefault(u, at)

    def set_clock(self, ms, wall_lo):
        """The segment clock moves to ms; the sweep judges the users whose
        recheck moment has come. Returns (pairs judged, users whose
        memberships changed)."""
        self.clock = ms
        due = sorted(k for k, t in self.recheck.items() if t is not None and t <= ms)
        changed = set()
        for sid, user in due:
            if self._judge(sid, user, (wall_lo, None), "sweep at clock %s" % iso(ms)):
                changed.add(user)
        return due, sorted(changed)

    def profile(self, user, traits, ts, received, what=""):
        attrs = self.attributes.setdefault(user, {})
        for k, v in traits.items():
            if k not in attrs or attrs[k][1] <= ts:
                attrs[k] = (v, ts)
        self._note(user, "%s traits %s ts=%s" % (what, traits, iso(ts)))
        for sid, sd in sorted(self.defs.items()):
            if sd["has_attr"]:
                self._judge(sid, user, received, what)

    def track(self, user, name, props, ts, received, what=""):
        touched = []
        for sid, sd in sorted(self.defs.items()):
            for i, c in enumerate(sd["conds"]):
                if not c["behaviour"] or c["event"] != name:
                    continue
                if not all(where_holds(w, props) for w in c["where"]):
                    continue
                if c["within_ms"] and ts <= self.clock - c["within_ms"]:
                    continue
                v = 0
                if c["measure"] == "sum":
                    x = get_path(props, c["property"])
                    v = x if is_number(x) else 0
                self.kept.setdefault((sid, i, user), []).append((ts, v))
                if sid not in touched:
                    touched.append(sid)
        if touched:
            self._note(user, "%s %s ts=%s %s" % (what, name, iso(ts), props))
        for sid in touched:
            self._judge(sid, user, received, what)

    def alias(self, previous, known, received, what=""):
        src = self.attributes.get(previous, {})
        dst = self.attributes.setdefault(known, {})
        for k, (v, t) in src.items():
            if k in dst and dst[k][1] >= t:
                continue
            dst[k] = (v, t)
        for sid, sd in sorted(self.defs.items()):
            if sd["type"] == "static" and previous in self.members[sid] and \
                    known not in self.members[sid]:
                self.members[sid][known] = received
                self.copied += 1
        self._note(known, "%s alias %s -> %s" % (what, previous, known))
        for sid, sd in sorted(self.defs.items()):
            if sd["has_attr"]:
                self._judge(sid, known, received, what)

    def watch(self):
        """Outbox entries are counted from here on (watched())."""
        self.watch_from = self.watched(0)

    def watched(self, since=None):
        """{kind: outbox entries written since watch()}."""
        n = {"segment_entered": 0, "segment_exited": 0}
        for changes in self.history.values():
            for kind, _ in changes:
                n[kind] += 1
        base = self.watch_from if since is None else {}
        return {k: v - base.get(k, 0) for k, v in n.items()}

    # ------------------------------------------------------- judging ---

    def _note(self, user, line):
        self.log.setdefault(user, []).append(line.strip())

    def holds(self, sid, user, now):
        """(in, recheck): the segment's verdict for the user at `now`."""
        sd = self.defs[sid]
        attrs = {k: v for k, (v, _) in self.attributes.get(user, {}).items()}
        held, recheck = [], None
        for i, c in enumerate(sd["conds"]):
            if not c["behaviour"]:
                held.append(where_holds(c, attrs))
                continue
            lo = now - c["within_ms"] + 1 if c["within_ms"] else None
            counted = [(t, v) for t, v in self.kept.get((sid, i, user), ())
                       if lo is None or t >= lo]
            x = len(counted) if c["measure"] == "count" else sum(v for _, v in counted)
            if c["within_ms"] and counted:
                leaves = min(t for t, _ in counted) + c["within_ms"]
                recheck = leaves if recheck is None else min(recheck, leaves)
            held.append(compare(c["op"], x, c["value"]))
        return (any(held) if sd.get("match") == "any" else all(held)), recheck

    def _judge(self, sid, user, received, what):
        sd = self.defs[sid]
        now_in, recheck = self.holds(sid, user, self.clock)
        was = user in self.members[sid]
        if now_in and not was:
            self.members[sid][user] = received
            self.changes[sid][0] += 1
            self.history.setdefault((sid, user), []).append(("segment_entered", received))
            self._note(user, "  -> enters %s (%s)" % (sid, what))
        elif was and not now_in:
            del self.members[sid][user]
            self.changes[sid][1] += 1
            self.history.setdefault((sid, user), []).append(("segment_exited", received))
            self._note(user, "  -> leaves %s (%s)" % (sid, what))
        if sd["windowed"]:
            self.recheck[(sid, user)] = recheck
        return now_in != was

    # ------------------------------------------------------- answers ---

    def member(self, sid, user):
        return user in self.members.get(sid, ())

    def of_user(self, user):
        """[(segment id, entered range)] of the user, by segment id."""
        return [(sid, m[user]) for sid, m in sorted(self.members.items()) if user in m]
