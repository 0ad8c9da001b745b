"""A second, deliberately simple implementation of the campaign rules of
issue 5 ("Rules (the reference semantics)"), used by the differential and
crash tests to say what tally's engine must answer. It is written from the
rules alone, for obviousness rather than speed: plain dicts, sets and lists,
Python's zoneinfo for time zones, every window recomputed from the
calendar on demand.

How it is driven: build a Reference from campaign definitions (the JSON
objects sent to POST /v1/campaigns), call accept() when a user accepts a
campaign and set_status() when a campaign changes status, and apply() every
*valid* event in the order tally accepted them (log order; array order
inside a batch). Events that tally rejects or fails (bad shape, timestamp
outside the horizon) must not be given to apply(); a resent event_id is
skipped by apply() itself, as the pipeline's dedupe does; profile
updates go to profile(), alias events to alias(), static members to
add_members() and moves of the segment clock to set_clock(). Then ask
progress(), stats() and leaderboard() with the shapes of the API contract,
and the segment answers of `seg` (segment_reference.Segments).

Times are integers, milliseconds since the epoch, UTC.

Readings chosen where the issue is silent (tests follow them; change them
here and only here if the project decides otherwise):

 1. Where: "exists": true holds when the key is present, even with a null
    value; "exists": false only when it is absent. A dot path that meets a
    non-object (or an array) on its way is missing. `contains` holds only
    when the property is a string containing the value (a number never
    "contains" anything). eq/ne/in/nin compare JSON values: numbers
    numerically (1 == 1.0), strings exactly, booleans only with booleans
    (true is not 1), null only with null, arrays element-wise, objects
    member-wise.
 2. Distinct: values are keyed by JSON value with type (true, 1 and "1"
    are three values; 1 and 1.0 one). Arrays and objects count as values
    too (compared as in 1.). null or missing adds nothing.
 3. Sum: only JSON numbers add (true, "120" and null add nothing).
 4. Seen: an event is seen only when the campaign actually counts it for
    the user: campaign active, user admitted (accepted with received_at >=
    accepted_at), user not yet `completed`, name + where + bounds matching
    an activity. Events before acceptance therefore leave the user
    pristine.
 5. Calendar windows are the local calendar periods of the campaign's
    time zone, not clipped by starts_at/ends_at; a window starts at the
    first instant whose local date is its first day (at a DST gap over
    midnight that is the end of the gap). window_start/window_end of a
    `window: campaign` progress are null (a window "campaign" has no
    calendar boundaries; the differential test also accepts the campaign's
    bounds there).
 6. An event matching several activities of one campaign adds to each of
    them; completion is checked once, after all of them were applied.
 7. When max_completions is reached the campaign stops counting for that
    user: later events change no value, and a `window: campaign`
    campaign keeps the values it was reset to (zero). Calendar windows
    keep the values they had.
 8. Rewards: one per completion, carrying the completion number (1, 2, …)
    and the event_id of the event that completed it; listed by completion.
 9. A campaign that is not `active` (draft, paused, ended) counts nothing
    and is not listed; an event processed while a campaign is paused is
    lost for it, also after it is active again. A campaign with a
    `segment` counts only the events of users who are members when the
    event is processed (an entry's time is the receive time of what caused
    it, so every later event was received at or after it: the driver keeps
    each static change, profile update and alias in a request of its own,
    and the items of one batch share a receive time; README "Segments":
    received_at >= entered_at), and is listed only for members. With
    `count_before_entry` every user's events count (and are seen) but a
    completion needs membership at the completing event. Segments are
    modelled by segment_reference.py (static, attribute and behaviour
    conditions, rolling windows on the segment clock); an event's segment
    effects come before its campaigns'.
10. Stats: pristine = users the tenant knows (passed to stats()) that are
    admitted and never had an event seen; in_progress = seen and not
    completed; completed = reached max_completions. For `accept`
    campaigns, users who never accepted are not counted at all.
11. Leaderboard: the users with a value > 0 in the window of `at`, by
    value descending then user_id ascending (users with 0 may or may not
    follow; the tests compare only positive values).
12. Alias (README "Users", identity merge), per active campaign: the
    previous user's windows that did not complete are added into the known
    user's (count and sum add, distinct values and streak periods unite,
    also into a known user who reached max_completions), `seen` carries
    over, the previous user's windows are cleared (its completions and
    rewards stay); then, if the alias's timestamp is in the campaign's
    bounds, the known user is enrolled at the alias's receive time and a
    member of the campaign's segment, each met window of the known user
    (by window start; the one window of `window: campaign`) completes once,
    up to max_completions, the reward naming the alias. Later events of the
    previous id are applied under the known user's id (one link per
    previous id is modelled).
"""

import datetime
import functools
from zoneinfo import ZoneInfo

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MISSING = object()

DEFAULTS = {"status": "active", "timezone": "UTC", "window": "campaign",
            "complete_when": "all", "max_completions": 1, "enrollment": "auto",
            "segment": None, "count_before_entry": False, "starts_at": None, "ends_at": None,
            "reward": None}


# ------------------------------------------------------------------ time ---

def parse_iso(s):
    """ISO-8601 with an offset ('Z', ±HH:MM) -> ms since the epoch."""
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        raise ValueError("time without offset: " + s)
    delta = dt - EPOCH
    return delta.days * 86400000 + delta.seconds * 1000 + delta.microseconds // 1000


def iso(ms):
    """ms since the epoch -> 'YYYY-MM-DDTHH:MM:SS.mmmZ'."""
    dt = EPOCH + datetime.timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def local_date(ms, tz):
    return (EPOCH + datetime.timedelta(milliseconds=ms)).astimezone(tz).date()


@functools.lru_cache(maxsize=None)
def day_start(date, tz):
    """The first instant (ms) whose local date in tz is `date`."""
    dt = datetime.datetime(date.year, date.month, date.day, tzinfo=tz)  # fold=0
    ms = int(dt.timestamp() * 1000)
    # At a gap over midnight, fold=0 gives the instant the gap ends: the
    # first local time of the day. Check the claim rather than trust it.
    assert local_date(ms, tz) == date and local_date(ms - 1, tz) < date, (date, tz)
    return ms


@functools.lru_cache(maxsize=1 << 16)  # the same `at` is asked for every user
def window_of(window, tz, ms):
    """(start, end) ms of the calendar window containing ms; end exclusive."""
    d = local_date(ms, tz)
    if window == "day":
        first, nxt = d, d + datetime.timedelta(days=1)
    elif window == "week":  # Monday 00:00 local
        first = d - datetime.timedelta(days=d.weekday())
        nxt = first + datetime.timedelta(days=7)
    elif window == "month":
        first = d.replace(day=1)
        nxt = (first + datetime.timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(window)
    start, end = day_start(first, tz), day_start(nxt, tz)
    assert start <= ms < end
    return start, end


def period_number(period, tz, ms):
    """Consecutive periods get consecutive numbers (local days; local
    Monday-to-Sunday weeks)."""
    d = local_date(ms, tz)
    if period == "day":
        return d.toordinal()
    if period == "week":
        return (d.toordinal() - d.weekday()) // 7
    raise ValueError(period)


# ---------------------------------------------------------------- values ---

def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_equal(a, b):
    if is_number(a) and is_number(b):
        return float(a) == float(b)
    if is_number(a) or is_number(b):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return False


def value_key(v):
    """Equal keys exactly when json_equal (reading 2)."""
    if is_number(v):
        return ("n", float(v))
    if isinstance(v, bool):
        return ("b", v)
    if v is None:
        return ("null",)
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, list):
        return ("a", tuple(value_key(x) for x in v))
    if isinstance(v, dict):
        return ("o", tuple(sorted((k, value_key(x)) for k, x in v.items())))
    raise TypeError(type(v))


def get_path(props, path):
    cur = props
    for seg in path.split("."):
        if not isinstance(cur, dict) or seg not in cur:
            return MISSING
        cur = cur[seg]
    return cur


def where_holds(cond, props):
    v = get_path(props, cond["path"])
    op, want = cond["op"], cond.get("value")
    if op == "exists":
        return (v is not MISSING) == bool(want)
    if v is MISSING:
        return op in ("ne", "nin")
    if op == "eq":
        return json_equal(v, want)
    if op == "ne":
        return not json_equal(v, want)
    if op in ("gt", "gte", "lt", "lte"):
        if not (is_number(v) and is_number(want)):
            return False
        return {"gt": v > want, "gte": v >= want, "lt": v < want, "lte": v <= want}[op]
    if op == "in":
        return any(json_equal(v, x) for x in want)
    if op == "nin":
        return not any(json_equal(v, x) for x in want)
    if op == "contains":
        return isinstance(v, str) and isinstance(want, str) and want in v
    raise ValueError("unknown op " + op)


def longest_run(numbers):
    best = run = 0
    prev = None
    for n in sorted(numbers):
        run = run + 1 if prev is not None and n == prev + 1 else 1
        best = max(best, run)
        prev = n
    return best


# ------------------------------------------------------------- campaigns ---

class Campaign:
    """A definition with the defaults filled in."""

    def __init__(self, definition):
        d = dict(DEFAULTS)
        d.update(definition)
        self.definition = definition
        self.id = d["id"]
        self.status = d["status"]
        self.tz = ZoneInfo(d["timezone"])
        self.window = d["window"]
        self.complete_any = d["complete_when"] == "any"
        self.max_completions = d["max_completions"]
        self.accept = d["enrollment"] == "accept"
        self.segment = d["segment"]
        self.count_before_entry = bool(d["count_before_entry"])
        self.starts_at = parse_iso(d["starts_at"]) if d["starts_at"] else None
        self.ends_at = parse_iso(d["ends_at"]) if d["ends_at"] else None
        self.reward = d["reward"]
        self.activities = []
        for a in d["activities"]:
            a = dict(a)
            a.setdefault("where", [])
            a.setdefault("period", "day")
            self.activities.append(a)

    def in_bounds(self, ts):
        return (self.starts_at is None or ts >= self.starts_at) and \
            (self.ends_at is None or ts < self.ends_at)

    def counts_anybody(self):
        """Counts every user (stats and leaderboards are compared for these)."""
        return self.status == "active" and self.segment is None


def new_values(campaign):
    """Fresh per-activity state: count/sum numbers, distinct keys, streak periods."""
    vals = {}
    for a in campaign.activities:
        m = a["measure"]
        vals[a["id"]] = 0 if m in ("count", "sum") else set()
    return vals


def value_of(activity, state):
    m = activity["measure"]
    if m in ("count", "sum"):
        return state
    if m == "distinct":
        return len(state)
    return longest_run(state)  # streak


def add_values(campaign, to, frm):
    """Adds one window's values into another's (an alias's merge)."""
    for a in campaign.activities:
        if a["measure"] in ("count", "sum"):
            to[a["id"]] += frm[a["id"]]
        else:
            to[a["id"]] |= frm[a["id"]]


def complete(campaign, st, win, ev):
    """A completion of `st` in calendar window `win` (None: window
    campaign) at event `ev`: the reward, then the window closed or the
    values reset."""
    st.completions += 1
    st.rewards.append({"completion": st.completions, "event_id": ev["event_id"]})
    st.trace.append(st.completions)
    if win is not None:
        win["completed"] = True
    else:
        st.values = new_values(campaign)
    if campaign.max_completions and st.completions >= campaign.max_completions:
        st.done = True


class UserState:
    """One user's progress in one campaign."""

    def __init__(self, campaign):
        self.seen = False
        self.completions = 0
        self.done = False              # max_completions reached
        self.values = new_values(campaign)  # window: campaign
        self.windows = {}              # calendar: start ms -> {"values", "completed", "end"}
        self.rewards = []              # [{"completion", "event_id"}]
        self.merged = False            # an alias took its windows
        self.trace = []                # (event_id, name, ts, values) | completion n

    def status(self):
        return "completed" if self.done else "in-progress" if self.seen else "pristine"


class Reference:
    def __init__(self, definitions, segments=()):
        from segment_reference import Segments  # it imports the helpers above
        self.seg = Segments(segments)
        self.campaigns = {}
        for d in definitions:
            c = Campaign(d)
            self.campaigns[c.id] = c
        self.by_event = {}
        for c in self.campaigns.values():
            for a in c.activities:
                self.by_event.setdefault(a["event"], set()).add(c.id)
        self.state = {}          # (campaign id, user) -> UserState
        self.accepted = {}       # (campaign id, user) -> accepted_at ms
        self.event_ids = set()   # processed event_ids (dedupe)
        self.users = set()       # users with a processed event
        self.links = {}          # previous id -> known user (alias)
        self.redirected = 0      # events of a previous id counted for its known user

    # -------------------------------------------------------- inputs ---

    def accept(self, campaign_id, user, accepted_at):
        """Idempotent: the first accepted_at stays. Returns the one in force."""
        return self.accepted.setdefault((campaign_id, user), accepted_at)

    def set_status(self, campaign_id, status):
        self.campaigns[campaign_id].status = status

    def add_members(self, segment_id, users, at=(0, None)):
        """Static segment members added through the API (`at`: the range
        of the request's time)."""
        self.seg.add_members(segment_id, users, at)

    def set_clock(self, ms, wall_lo=0):
        """The segment clock (POST /debug/clock) moves to ms; returns the
        (segment, user) pairs the sweep judged and the users whose
        memberships it changed."""
        return self.seg.set_clock(ms, wall_lo)

    @staticmethod
    def _received(ev):
        return (ev.get("received_at", 0), ev.get("received_hi", ev.get("received_at", 0)))

    def _take(self, ev):
        """Dedupe; the user the event counts for. None for a duplicate."""
        if ev["event_id"] in self.event_ids:
            return None
        self.event_ids.add(ev["event_id"])
        user = self.links.get(ev["user_id"], ev["user_id"])
        self.redirected += user != ev["user_id"]
        self.users.add(user)
        return user

    def profile(self, ev):
        """One valid profile update (identify): {"event_id", "user_id",
        "timestamp" (ms), "traits", "received_at" [, "received_hi"]}.
        False for a duplicate."""
        user = self._take(ev)
        if user is None:
            return False
        self.seg.profile(user, ev["traits"], ev["timestamp"], self._received(ev),
                         ev["event_id"])
        return True

    def member(self, segment_id, user):
        return self.seg.member(segment_id, user)

    def apply(self, ev):
        """One valid event: {"event_id", "event_name", "user_id", "timestamp"
        (ms), "received_at" (ms) [, "received_hi"], "properties"}. False for
        a duplicate."""
        user = self._take(ev)
        if user is None:
            return False
        if user != ev["user_id"]:
            ev = dict(ev, user_id=user)
        self.seg.track(user, ev["event_name"], ev["properties"], ev["timestamp"],
                       self._received(ev), ev["event_id"])
        for cid in sorted(self.by_event.get(ev["event_name"], ())):
            self._apply_one(self.campaigns[cid], ev)
        return True

    def alias(self, ev):
        """One valid alias: {"event_id", "user_id" (known), "previous_id",
        "timestamp", "received_at" [, "received_hi"]}. False for a
        duplicate."""
        if ev["event_id"] in self.event_ids:
            return False
        self.event_ids.add(ev["event_id"])
        prev, known = ev["previous_id"], ev["user_id"]
        self.users.add(known)
        if prev == known:
            return True
        assert prev not in self.links and prev not in self.links.values(), \
            "one link per previous id is modelled: " + prev
        self.links[prev] = known
        self.seg.alias(prev, known, self._received(ev), ev["event_id"])
        for cid in sorted(self.campaigns):
            if self.campaigns[cid].status == "active":
                self._merge(self.campaigns[cid], prev, known, ev)
        return True

    def _merge(self, c, prev, known, ev):
        fr = self.state.get((c.id, prev))
        if fr is None or fr.merged:
            return
        to = self.state.get((c.id, known))
        if to is None:
            to = self.state[(c.id, known)] = UserState(c)
        if c.window == "campaign":
            add_values(c, to.values, fr.values)
        else:
            for start, fw in sorted(fr.windows.items()):
                if fw["completed"]:
                    continue  # its values earned the previous user's reward
                tw = to.windows.setdefault(start, {"values": new_values(c), "completed": False,
                                                   "end": fw["end"]})
                add_values(c, tw["values"], fw["values"])
        to.seen = to.seen or fr.seen
        fr.values, fr.windows, fr.merged = new_values(c), {}, True
        to.trace.append("merged %s at alias %s" % (prev, ev["event_id"]))
        fr.trace.append("merged into %s at alias %s" % (known, ev["event_id"]))
        # The completion check, as an event at the alias would make it.
        if not c.in_bounds(ev["timestamp"]):
            return
        if c.accept and ((c.id, known) not in self.accepted or
                         ev["received_at"] < self.accepted[(c.id, known)]):
            return
        if c.segment is not None and not self.member(c.segment, known):
            return
        wins = [None] if c.window == "campaign" else [w for _, w in sorted(to.windows.items())]
        for win in wins:
            if c.max_completions and to.completions >= c.max_completions:
                break
            values = to.values if win is None else win["values"]
            if win is not None and win["completed"]:
                continue
            met = [value_of(a, values[a["id"]]) >= a["target"] for a in c.activities]
            if not (any(met) if c.complete_any else all(met)):
                continue
            complete(c, to, win, ev)

    def _admits(self, c, user):
        return c.status == "active" and (not c.accept or (c.id, user) in self.accepted)

    def _listed(self, c, user):
        return self._admits(c, user) and (c.segment is None or self.member(c.segment, user))

    def _apply_one(self, c, ev):
        user, ts = ev["user_id"], ev["timestamp"]
        if not self._admits(c, user):
            return
        member = c.segment is None or self.member(c.segment, user)
        if not member and not c.count_before_entry:
            return
        if c.accept and ev["received_at"] < self.accepted[(c.id, user)]:
            return
        if not c.in_bounds(ts):
            return
        matching = [a for a in c.activities
                    if a["event"] == ev["event_name"] and
                    all(where_holds(w, ev["properties"]) for w in a["where"])]
        if not matching:
            return
        st = self.state.get((c.id, user))
        if st is None:
            st = self.state[(c.id, user)] = UserState(c)
        if st.done:
            return
        st.seen = True
        if c.window == "campaign":
            values, win = st.values, None
        else:
            start, end = window_of(c.window, c.tz, ts)
            win = st.windows.get(start)
            if win is None:
                win = st.windows[start] = {"values": new_values(c), "completed": False,
                                           "end": end}
            values = win["values"]
        for a in matching:
            m, aid = a["measure"], a["id"]
            if m == "count":
                values[aid] += 1
            elif m == "sum":
                v = get_path(ev["properties"], a["property"])
                if is_number(v):
                    values[aid] += v
            elif m == "distinct":
                v = get_path(ev["properties"], a["property"])
                if v is not MISSING and v is not None:
                    values[aid].add(value_key(v))
            else:  # streak
                values[aid].add(period_number(a["period"], c.tz, ts))
        now = [value_of(a, values[a["id"]]) for a in c.activities]
        st.trace.append((ev["event_id"], ev["event_name"], ts, now))
        if win is not None and win["completed"]:
            return
        met = [v >= a["target"] for v, a in zip(now, c.activities)]
        if not (any(met) if c.complete_any else all(met)):
            return
        if not member:
            return  # count_before_entry: only a member completes
        complete(c, st, win, ev)

    # ------------------------------------------------------- answers ---

    def listed(self, user):
        """Campaign ids GET /v1/users/{user}/campaigns lists, in order."""
        return [cid for cid in sorted(self.campaigns) if self._listed(self.campaigns[cid], user)]

    def progress_one(self, campaign_id, user, at):
        """P of the contract, without reward_id/issued_at; None if not listed."""
        c = self.campaigns[campaign_id]
        if not self._listed(c, user):
            return None
        st = self.state.get((c.id, user)) or UserState(c)
        if c.window == "campaign":
            values, wstart, wend = st.values, None, None
        else:
            wstart, wend = window_of(c.window, c.tz, at)
            win = st.windows.get(wstart)
            values = win["values"] if win else new_values(c)
        acts = []
        for a in c.activities:
            v = value_of(a, values[a["id"]])
            acts.append({"id": a["id"], "value": v, "target": a["target"],
                         "met": v >= a["target"]})
        reward = c.reward or {}
        return {
            "campaign_id": c.id, "status": st.status(), "completions": st.completions,
            "steps_total": len(acts), "steps_completed": sum(1 for x in acts if x["met"]),
            "window_start": None if wstart is None else iso(wstart),
            "window_end": None if wend is None else iso(wend),
            "activities": acts,
            "rewards": [dict(r, type=reward.get("type"), name=reward.get("name"),
                             amount=reward.get("amount"), code=reward.get("code"))
                        for r in st.rewards],
        }

    def progress(self, user, at):
        return [self.progress_one(cid, user, at) for cid in self.listed(user)]

    def stats(self, campaign_id, known_users):
        c = self.campaigns[campaign_id]
        out = {"pristine": 0, "in_progress": 0, "completed": 0}
        completions = 0
        for u in known_users:
            if c.accept and (c.id, u) not in self.accepted:
                continue
            st = self.state.get((c.id, u))
            s = st.status() if st else "pristine"
            out[s.replace("-", "_")] += 1
            completions += st.completions if st else 0
        return {"campaign_id": c.id, "users": out, "completions": completions,
                "rewards": completions}

    def leaderboard(self, campaign_id, activity_id, at):
        """[(user, value)] with value > 0, best first (reading 11)."""
        c = self.campaigns[campaign_id]
        a = next(x for x in c.activities if x["id"] == activity_id)
        rows = []
        for (cid, u), st in self.state.items():
            if cid != c.id:
                continue
            if c.window == "campaign":
                state = st.values[a["id"]]
            else:
                win = st.windows.get(window_of(c.window, c.tz, at)[0])
                if not win:
                    continue
                state = win["values"][a["id"]]
            v = value_of(a, state)
            if v > 0:
                rows.append((u, v))
        rows.sort(key=lambda r: (-r[1], r[0]))
        return rows

    def trace(self, campaign_id, user):
        """What the campaign saw of the user's events, as text lines."""
        st = self.state.get((campaign_id, user))
        c = self.campaigns[campaign_id]
        lines = []
        for x in st.trace if st else ():
            if isinstance(x, int):
                lines.append("  -> completion %d" % x)
            elif isinstance(x, str):
                lines.append(x)
            else:
                eid, name, ts, vals = x
                w = "" if c.window == "campaign" else " window %s" % iso(
                    window_of(c.window, c.tz, ts)[0])
                lines.append("%s %s ts=%s%s: %s" % (eid, name, iso(ts), w, ", ".join(
                    "%s=%s" % (a["id"], v) for a, v in zip(c.activities, vals))))
        return lines

