#!/usr/bin/env bash
# bench/segments.sh — what keeping event segments current costs the
# pipeline: throughput of `tallyd pipeline run` (ONE core) on the same
# backlog with 0 and 100 event segments, side by side in one run.
#
# Preloads the log once (daemon with --no-pipeline; bench/pipeline_load.py:
# N ~300-byte track events of 10 event names over USERS users, DUP_PCT %
# resent event_ids, batches of 500). Then, for each segment count K of
# SETS and each of ROUNDS rounds (interleaved: 0, 100, 0, 100, … so load
# from other work falls on both alike): copies the preloaded data dir,
# creates K event segments through POST /v1/segments
# (bench/segments_defs.py: every one names events that are sent, with a
# mix of count/sum measures, rolling windows, where filters, attribute
# conditions and match all/any), and times `tallyd pipeline run` on it.
# Measured: events/s from the run's own JSON (its catch-up loop); the wall
# time of the whole command is shown too, and what the run left in
# state.db (members, segment_entered outbox entries, users with state).
# With WARM=1 (the default), after each such "cold" run (every user new:
# nothing to read back from the store), the same USERS send N more events
# (another seed) into that run's data dir and `tallyd pipeline run` is timed
# again: the "warm" figure, where every user's state is read back from
# segment_users by a new process, the rolling windows' lists are longer, and
# counts keep crossing thresholds.
# Checks per run: failed == 0 and processed + duplicates == N (an invalid
# run makes the script exit 1). Prints the median events/s of each K and
# the ratio of 100 to 0. Target (reported, not asserted): with 100 event
# segments >= 100,000 events/s.
#
# Env: N=1000000 USERS=100000 DUP_PCT=5 CONNECTIONS=4 SEED=20260314
#      SETS="0 100" (segment counts) ROUNDS=1 (runs of each, interleaved)
#      KEEP_DATA=DIR (copy the data dir with the most segments there, before
#                     its run, to profile or re-run on the same backlog; with
#                     WARM=1 its warm run's too, in DIR-warm)
#      WARM=1 (0: cold runs only)
#      TARGET=100000 (events/s with 100 segments)
set -euo pipefail

N=${N:-1000000}
USERS=${USERS:-100000}
DUP_PCT=${DUP_PCT:-5}
CONNECTIONS=${CONNECTIONS:-4}
SEED=${SEED:-20260314}
SETS=${SETS:-0 100}
ROUNDS=${ROUNDS:-1}
KEEP_DATA=${KEEP_DATA:-}
WARM=${WARM:-1}
TARGET=${TARGET:-100000}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tallyd=$root/build/tallyd

die() {
  echo "segments.sh: $*" >&2
  exit 1
}

for tool in python3 awk curl sort; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
[[ $USERS =~ ^[1-9][0-9]*$ ]] || die "USERS must be a positive integer"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $WARM =~ ^[01]$ ]] || die "WARM must be 0 or 1"
for k in $SETS; do [[ $k =~ ^[0-9]+$ ]] || die "SETS must be segment counts: $SETS"; done
[[ -z $KEEP_DATA || (! -e $KEEP_DATA && ! -e $KEEP_DATA-warm) ]] ||
  die "KEEP_DATA=$KEEP_DATA (or $KEEP_DATA-warm) exists already"

bench_name=segments.sh
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_workdir tally-segments

# What the run left: members, segment_entered outbox entries, users with
# segment state (segment_users rows).
left() {
  python3 - "$1/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
q = lambda s: db.execute(s).fetchone()[0]
print(q("SELECT count(*) FROM segment_members"),
      q("SELECT count(*) FROM outbox WHERE kind = 'segment_entered'"),
      q("SELECT count(*) FROM segment_users"))
PY
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# --------------------------------------------------------------- preload ---
base_data=$work/preloaded
preload "$base_data"

# Each K's definitions are made once, on a copy kept for its rounds.
kmax=0
for k in $SETS; do
  ((k > kmax)) && kmax=$k
  [[ -d $work/defs$k ]] && continue
  cp -a "$base_data" "$work/defs$k"
  if ((k > 0)); then
    start_daemon "$work/defs$k" "$work/tallyd-$k.log" --no-pipeline
    made=$(python3 "$root/bench/segments_defs.py" --url "$base" --key "$admin_key" \
      --count "$k") || die "creating $k segments failed (see above)"
    rc=0
    stop_daemon || rc=$?
    ((rc == 0)) || die "tallyd exited with status $rc after SIGTERM"
    echo "  $k segments: $made"
  fi
done
rm -rf "$base_data"
if [[ -n $KEEP_DATA ]]; then
  cp -a "$work/defs$kmax" "$KEEP_DATA"
  echo "kept the data dir with $kmax segments (not yet run) in $KEEP_DATA"
fi

# ------------------------------------------------------------------ runs ---
# Times `tallyd pipeline run` on $1 (K = $2, LABEL = $3); sets run_eps and
# run_wall, and records problems of an invalid run.
timed_run() {
  local data=$1 k=$2 label=$3 run_rc=0 ok processed duplicates failed
  TIMEFORMAT='%R'
  { time "$tallyd" pipeline run --data "$data" >"$work/run.out" 2>"$work/run.err"; } \
    2>"$work/run.time" || run_rc=$?
  if ((run_rc != 0)); then
    cat "$work/run.out" "$work/run.err" >&2
    die "tallyd pipeline run exited with status $run_rc ($k segments, $label)"
  fi
  local run_json
  run_json=$(tail -n 1 "$work/run.out")
  read -r ok processed duplicates failed run_eps < <(
    python3 -c 'import json, sys; j = json.loads(sys.argv[1])
print(str(j["ok"]).lower(), *(j[k] for k in ("processed", "duplicates", "failed",
                                             "events_per_second")))' "$run_json"
  ) || die "cannot parse the run's JSON: $run_json"
  run_wall=$(cat "$work/run.time")
  echo "  $label: $run_json"
  [[ $ok == true ]] || problems+=("$k segments, $label: ok=$ok")
  ((failed == 0)) || problems+=("$k segments, $label: failed = $failed, expected 0")
  ((processed + duplicates == N)) ||
    problems+=("$k segments, $label: processed + duplicates = $((processed + duplicates)), expected $N")
}

declare -A EPS WALL LEFT WEPS
problems=()
for ((round = 1; round <= ROUNDS; round++)); do
  for k in $SETS; do
    data=$work/run
    rm -rf "$data"
    cp -a "$work/defs$k" "$data"
    echo "round $round: tallyd pipeline run ($k event segments), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    timed_run "$data" "$k" cold
    read -r members entered counted < <(left "$data") || die "cannot read state.db"
    echo "  left: $members members, $entered segment_entered entries, $counted users with state"
    EPS[$k]="${EPS[$k]:-} $run_eps"
    WALL[$k]="${WALL[$k]:-} $run_wall"
    LEFT[$k]="$members / $entered / $counted"
    if ((WARM)); then
      # The same users send N more events (another seed), processed by a
      # new process that reads their state back.
      load_events "$data" "$((SEED + round))" >/dev/null
      if [[ -n $KEEP_DATA && $k == "$kmax" && ! -e $KEEP_DATA-warm ]]; then
        cp -a "$data" "$KEEP_DATA-warm"
        echo "  kept the warm run's data dir (not yet run) in $KEEP_DATA-warm"
      fi
      timed_run "$data" "$k" warm
      WEPS[$k]="${WEPS[$k]:-} $run_eps"
    fi
    rm -rf "$data"
  done
done

# ---------------------------------------------------------------- report ---
echo
echo "== tally segments: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(date -u +%FT%TZ), $N events, $USERS users, $ROUNDS round(s) =="
printf '%-10s %12s %10s %10s  %-28s %s\n' "segments" "events/s" "wall (s)" "vs 0" \
  "members / entered / users" "events/s of each round"
declare -A MED
for k in $SETS; do
  # shellcheck disable=SC2086 # word splitting wanted: the rounds' figures
  MED[$k]=$(median ${EPS[$k]})
  # shellcheck disable=SC2086
  wall=$(median ${WALL[$k]})
  ratio="-"
  [[ -n ${MED[0]:-} ]] && ratio=$(awk -v a="${MED[$k]}" -v b="${MED[0]}" 'BEGIN { printf "%.1f %%", a / b * 100 }')
  printf '%-10s %12s %10s %10s  %-28s%s\n' "$k" "${MED[$k]}" "$wall" "$ratio" "${LEFT[$k]}" "${EPS[$k]}"
done
declare -A WMED
if ((WARM)); then
  echo
  echo "warm: the same users' next $N events, their state read back from the store"
  printf '%-10s %12s %10s  %s\n' "segments" "events/s" "vs 0" "events/s of each round"
  for k in $SETS; do
    # shellcheck disable=SC2086
    WMED[$k]=$(median ${WEPS[$k]})
    ratio="-"
    [[ -n ${WMED[0]:-} ]] && ratio=$(awk -v a="${WMED[$k]}" -v b="${WMED[0]}" 'BEGIN { printf "%.1f %%", a / b * 100 }')
    printf '%-10s %12s %10s %s\n' "$k" "${WMED[$k]}" "$ratio" "${WEPS[$k]}"
  done
fi
if [[ -n ${MED[100]:-} ]]; then
  echo
  printf 'segments: %s events/s with 100 event segments on one core, cold (target >= %s)%s\n' \
    "${MED[100]}" "$TARGET" "$( ((MED[100] >= TARGET)) || echo "   BELOW TARGET")"
  if [[ -n ${WMED[100]:-} ]]; then
    printf 'segments: %s events/s with 100 event segments on one core, warm (target >= %s)%s\n' \
      "${WMED[100]}" "$TARGET" "$( ((WMED[100] >= TARGET)) || echo "   BELOW TARGET")"
  fi
fi
if ((${#problems[@]} > 0)); then
  echo
  echo "!!! INVALID RESULT:"
  for p in "${problems[@]}"; do echo "!!!   $p"; done
  exit 1
fi
