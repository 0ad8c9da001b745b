#!/usr/bin/env bash
# bench/engine.sh — what the campaign engine costs the pipeline: throughput of
# `tallyd pipeline run` (ONE core) on the same backlog with 0, 10 and 1,000
# active campaigns, side by side in one run.
#
# Preloads the log once (daemon with --no-pipeline; bench/pipeline_load.py:
# N ~300-byte events of 10 event names over USERS users, DUP_PCT % resent
# event_ids, batches of 500). Then, for each campaign count K of SETS: copies
# the preloaded data dir, creates K campaigns through POST /v1/campaigns
# (bench/engine_campaigns.py: up to 10 that name the events sent, with
# where conditions, windows, time zones and streaks; the rest name events
# never sent, so 10 and 1,000 campaigns touch each event alike), and times
# `tallyd pipeline run` on it. Measured: events/s from the run's own JSON
# (its catch-up loop); the wall time of the whole command is shown too.
# Checks per run: failed == 0 and processed + duplicates == N.
# Prints events/s for each K and the ratios to 0 campaigns and of 1,000 to
# 10. Target (reported, not asserted): with 10 campaigns >= 150,000 events/s.
#
# Env: N=1000000 USERS=1000000 DUP_PCT=5 CONNECTIONS=4 SEED=20260314
#      SETS="0 10 1000" (campaign counts, each run on its own copy)
#      TARGET=150000 (events/s with 10 campaigns)
set -euo pipefail

N=${N:-1000000}
USERS=${USERS:-1000000}
DUP_PCT=${DUP_PCT:-5}
CONNECTIONS=${CONNECTIONS:-4}
SEED=${SEED:-20260314}
SETS=${SETS:-0 10 1000}
TARGET=${TARGET:-150000}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tallyd=$root/build/tallyd

die() {
  echo "engine.sh: $*" >&2
  exit 1
}

for tool in python3 awk curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
[[ $USERS =~ ^[1-9][0-9]*$ ]] || die "USERS must be a positive integer"
for k in $SETS; do [[ $k =~ ^[0-9]+$ ]] || die "SETS must be campaign counts: $SETS"; done

bench_name=engine.sh
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_workdir tally-engine

# --------------------------------------------------------------- preload ---
base_data=$work/preloaded
preload "$base_data"

# ------------------------------------------------------------------ runs ---
declare -A EPS WALL
problems=()
for k in $SETS; do
  data=$work/k$k
  cp -a "$base_data" "$data"
  if ((k > 0)); then
    start_daemon "$data" "$work/tallyd-$k.log" --no-pipeline
    made=$(python3 "$root/bench/engine_campaigns.py" --url "$base" --key "$admin_key" \
      --count "$k") || die "creating $k campaigns failed (see above)"
    rc=0
    stop_daemon || rc=$?
    ((rc == 0)) || die "tallyd exited with status $rc after SIGTERM"
    echo "  $k campaigns: $made"
  fi
  echo "running: tallyd pipeline run ($k active campaigns)"
  TIMEFORMAT='%R'
  run_rc=0
  { time "$tallyd" pipeline run --data "$data" >"$work/run-$k.out" 2>"$work/run-$k.err"; } \
    2>"$work/run-$k.time" || run_rc=$?
  if ((run_rc != 0)); then
    cat "$work/run-$k.out" "$work/run-$k.err" >&2
    die "tallyd pipeline run exited with status $run_rc ($k campaigns)"
  fi
  run_json=$(tail -n 1 "$work/run-$k.out")
  read -r ok processed duplicates failed eps < <(
    python3 -c 'import json, sys; j = json.loads(sys.argv[1])
print(str(j["ok"]).lower(), *(j[k] for k in ("processed", "duplicates", "failed",
                                             "events_per_second")))' "$run_json"
  ) || die "cannot parse the run's JSON: $run_json"
  echo "  $run_json"
  [[ $ok == true ]] || problems+=("$k campaigns: ok=$ok")
  ((failed == 0)) || problems+=("$k campaigns: failed = $failed, expected 0")
  ((processed + duplicates == N)) ||
    problems+=("$k campaigns: processed + duplicates = $((processed + duplicates)), expected $N")
  EPS[$k]=$eps
  WALL[$k]=$(cat "$work/run-$k.time")
  rm -rf "$data"
done

# ---------------------------------------------------------------- report ---
echo
echo "== tally engine: $(nproc) cores, $(date -u +%FT%TZ), $N events, $USERS users =="
printf '%-12s %14s %12s %14s\n' "campaigns" "events/s" "wall (s)" "vs 0 campaigns"
for k in $SETS; do
  ratio="-"
  [[ -n ${EPS[0]:-} ]] && ratio=$(awk -v a="${EPS[$k]}" -v b="${EPS[0]}" 'BEGIN { printf "%.1f %%", a / b * 100 }')
  printf '%-12s %14s %12s %14s\n' "$k" "${EPS[$k]}" "${WALL[$k]}" "$ratio"
done
if [[ -n ${EPS[10]:-} && -n ${EPS[1000]:-} ]]; then
  echo
  awk -v a="${EPS[1000]}" -v b="${EPS[10]}" \
    'BEGIN { printf "1,000 campaigns run at %.1f %% of the speed with 10\n", a / b * 100 }'
fi
if [[ -n ${EPS[10]:-} ]]; then
  printf 'engine: %s events/s with 10 active campaigns on one core (target >= %s)%s\n' \
    "${EPS[10]}" "$TARGET" "$( ((EPS[10] >= TARGET)) || echo "   BELOW TARGET")"
fi
if ((${#problems[@]} > 0)); then
  echo
  echo "!!! INVALID RESULT:"
  for p in "${problems[@]}"; do echo "!!!   $p"; done
  exit 1
fi
