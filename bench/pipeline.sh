#!/usr/bin/env bash
# bench/pipeline.sh — how fast the pipeline consumer turns a backlog of the
# event log into state, on ONE core.
#
# Preloads the log (daemon with --no-pipeline, so nothing is processed yet):
# N realistic ~300-byte events (3-5 properties) for USERS users, DUP_PCT %
# of them resends of earlier event_ids spread through the stream, as POST
# /server/v4/batch requests of 500 events (bench/pipeline_load.py, 127.0.0.1
# only; every request must answer 200 with accepted == 500). Then stops the
# daemon and times `tallyd pipeline run` (single thread) on that backlog:
# validate, dedupe, users, failed events, all in SQLite (state.db).
# Measured: events/s from the run's own JSON (its timer covers the catch-up
# loop only, not opening state.db, counting the backlog or the final WAL
# checkpoint at close; the wall time of the whole command is shown too).
# Checks: failed == 0, processed + duplicates == N, duplicates == the
# resends sent (DUP_PCT % of N), events rows == processed.
#
# Env: N=1000000 USERS=100000 DUP_PCT=5 CONNECTIONS=4 (loader) SEED=20260314
#      PIPELINE_BATCH= (tallyd pipeline run --batch: events per transaction;
#                      tallyd's default when empty)
#      KEEP_DATA=DIR   copy the preloaded data dir there (before the pipeline
#                      run) to profile or re-run on the same backlog
#      TARGET=200000   events/s the line is compared with
set -euo pipefail

N=${N:-1000000}
USERS=${USERS:-100000}
DUP_PCT=${DUP_PCT:-5}
CONNECTIONS=${CONNECTIONS:-4}
SEED=${SEED:-20260314}
PIPELINE_BATCH=${PIPELINE_BATCH:-}
KEEP_DATA=${KEEP_DATA:-}
TARGET=${TARGET:-200000}
BATCH=500

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tallyd=$root/build/tallyd

die() {
  echo "pipeline.sh: $*" >&2
  exit 1
}

for tool in python3 awk curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
[[ $USERS =~ ^[1-9][0-9]*$ ]] || die "USERS must be a positive integer"
[[ -z $KEEP_DATA || ! -e $KEEP_DATA ]] || die "KEEP_DATA=$KEEP_DATA already exists"

echo "building tallyd (make build)..."
make -C "$root" build >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-pipeline.XXXXXX")
data=$work/data
daemon_pid=
port=
base=

bench_name=pipeline.sh
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  local rc=$?
  stop_daemon || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# busy_pct "CPU_LINE_BEFORE" "CPU_LINE_AFTER": machine-wide busy, % of one core.
busy_pct() {
  awk -v a="$1" -v b="$2" -v n="$(nproc)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); for (i = 1; i <= 8; i++) { d[i] = y[i] - x[i]; t += d[i] }
    if (t <= 0) t = 1
    printf "%.0f", (d[1] + d[2] + d[3] + d[6] + d[7]) / t * n * 100 }'
}
human() { awk -v b="$1" 'BEGIN { printf (b >= 1048576 ? "%.1f MiB" : "%.1f KiB"), b / (b >= 1048576 ? 1048576 : 1024) }'; }
fsize() { if [[ -e $1 ]]; then stat -c %s "$1"; else echo 0; fi; }
# jget JSON KEY: a top-level field of a one-line JSON object.
jget() { python3 -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"; }

# --------------------------------------------------------------- preload ---
mkdir -p "$data"
tenant_json=$("$tallyd" tenant create bench --data "$data")
write_key=$(sed -n 's/.*"write_key":"\([^"]*\)".*/\1/p' <<<"$tenant_json")
[[ -n $write_key ]] || die "no write_key in: $tenant_json"

start_daemon "$data" "$work/tallyd.log" --no-pipeline

echo "preloading $N events ($USERS users, $DUP_PCT % resent event_ids, batches of $BATCH, $CONNECTIONS connections) into $base ..."
load_json=$(python3 "$root/bench/pipeline_load.py" --url "$base" --key "$write_key" \
  --events "$N" --users "$USERS" --dup-pct "$DUP_PCT" --batch "$BATCH" \
  --connections "$CONNECTIONS" --seed "$SEED") || die "preload failed (see above)"
resent=$(jget "$load_json" resent)
batches=$(jget "$load_json" batches)
echo "  loader: $load_json"

daemon_rc=0
stop_daemon || daemon_rc=$?
((daemon_rc == 0)) || die "tallyd exited with status $daemon_rc after SIGTERM"

log_bytes=$(du -sb "$data/log" | awk '{ print $1 }')
echo "  event log: $(human "$log_bytes") in $(find "$data/log" -name '*.log' | wc -l) segment(s), $batches records"
if [[ -n $KEEP_DATA ]]; then
  cp -a "$data" "$KEEP_DATA"
  echo "  preloaded data dir copied to $KEEP_DATA (not removed at exit)"
fi

# -------------------------------------------------------------- consumer ---
cmd=("$tallyd" pipeline run --data "$data")
[[ -z $PIPELINE_BATCH ]] || cmd+=(--batch "$PIPELINE_BATCH")
echo "running: ${cmd[*]#"$root/"}"
read -r -a st0 < <(grep '^cpu ' /proc/stat)
TIMEFORMAT='%R %U %S'
run_rc=0
{ time "${cmd[@]}" >"$work/run.out" 2>"$work/run.err"; } 2>"$work/run.time" || run_rc=$?
read -r -a st1 < <(grep '^cpu ' /proc/stat)
if ((run_rc != 0)); then
  cat "$work/run.out" "$work/run.err" >&2
  die "tallyd pipeline run exited with status $run_rc"
fi
run_json=$(tail -n 1 "$work/run.out")
read -r wall usr sys <"$work/run.time"
read -r r_ok r_records r_processed r_duplicates r_failed r_seconds r_events_per_second < <(
  python3 -c 'import json, sys; j = json.loads(sys.argv[1])
print(str(j["ok"]).lower(), *(j[k] for k in ("records", "processed", "duplicates", "failed",
                                             "seconds", "events_per_second")))' "$run_json"
) || die "cannot parse the run's JSON: $run_json"
busy=$(busy_pct "${st0[*]:1:8}" "${st1[*]:1:8}")
cpu_self=$(awk -v u="$usr" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.0f", (u + s) / w * 100 }')
other=$((busy - cpu_self))
((other >= 0)) || other=0

db=$data/state.db
db_bytes=$(fsize "$db")
wal_bytes=$(fsize "$db-wal")
events_rows=$(sqlite3 "$db" 'SELECT count(*) FROM events' 2>/dev/null || echo "?")
users_rows=$(sqlite3 "$db" 'SELECT count(*) FROM users' 2>/dev/null || echo "?")
failed_rows=$(sqlite3 "$db" 'SELECT count(*) FROM failed_events' 2>/dev/null || echo "?")

# ---------------------------------------------------------------- checks ---
problems=()
[[ $r_ok == true ]] || problems+=("pipeline run answered ok=$r_ok")
((r_failed == 0)) || problems+=("failed = $r_failed, expected 0 (see failed_events in state.db)")
((r_processed + r_duplicates == N)) ||
  problems+=("processed + duplicates = $((r_processed + r_duplicates)), expected N = $N")
((r_duplicates == resent)) ||
  problems+=("duplicates = $r_duplicates, expected the $resent resends the loader sent")
dup_pct=$(awk -v d="$r_duplicates" -v n="$N" 'BEGIN { printf "%.2f", d / n * 100 }')
awk -v p="$dup_pct" -v w="$DUP_PCT" 'BEGIN { exit !(p >= w - 0.5 && p <= w + 0.5) }' ||
  problems+=("duplicates are $dup_pct % of N, expected about $DUP_PCT %")
((r_records == batches)) || problems+=("records = $r_records, expected $batches batches")
[[ $events_rows == "?" || $events_rows == "$r_processed" ]] ||
  problems+=("events table has $events_rows rows, expected processed = $r_processed")

# ---------------------------------------------------------------- report ---
echo
echo "== tally pipeline: $(nproc) cores, $(date -u +%FT%TZ) =="
printf '%-14s %s\n' "run" "$run_json"
printf '%-14s processed %s, duplicates %s (%s %% of N; %s resent), failed %s, records %s\n' \
  "events" "$r_processed" "$r_duplicates" "$dup_pct" "$resent" "$r_failed" "$r_records"
printf '%-14s catch-up %.3f s (run JSON); whole command %.2f s wall, %.2f s user + %.2f s sys (%s %% of one core)\n' \
  "time" "$r_seconds" "$wall" "$usr" "$sys" "$cpu_self"
printf '%-14s %s/s (whole command, incl. open + close)\n' "throughput" \
  "$(awk -v n="$N" -v w="$wall" 'BEGIN { printf "%.0f events", n / w }')"
printf '%-14s state.db %s + WAL %s (events rows %s, users rows %s, failed rows %s); event log %s\n' \
  "database" "$(human "$db_bytes")" "$(human "$wal_bytes")" "$events_rows" "$users_rows" \
  "$failed_rows" "$(human "$log_bytes")"
echo
printf 'pipeline: %s events, %s events/s on one core (target >= %s)%s\n' "$N" "$r_events_per_second" \
  "$TARGET" "$( ((r_events_per_second >= TARGET)) || echo "   BELOW TARGET")"

if ((other > 25)); then
  echo
  echo "*** WARNING: other processes used $other % of one core during the run; the"
  echo "*** machine was not quiet and the figure may understate the pipeline."
fi
if ((${#problems[@]} > 0)); then
  echo
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! INVALID RESULT:"
  for p in "${problems[@]}"; do echo "!!!   $p"; done
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 1
fi
