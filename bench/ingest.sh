#!/usr/bin/env bash
# bench/ingest.sh — how fast tallyd takes events with durable acknowledgement.
#
# Starts one tallyd on 127.0.0.1 (temp data dir, free port) and drives it with
# wrk, same threads/connections/duration for every run, one after the other:
#   healthz        GET /healthz: the HTTP layer's ceiling on this machine.
#   healthz_lua    (CONTROL=1) GET /healthz with the POST run's headers and
#                  body built by Lua per request: wrk's own Lua cost, no handler.
#   POST           POST /server/v4, one ~300-byte event per request, unique
#                  event_id; 200 means the record was fdatasync'ed.
#   batch          POST /server/v4/batch, BATCH_SIZE (100) events per request.
# How to read it: "ratio" = POST req/s / healthz req/s, the share of the
# HTTP ceiling left once every request is a durable append (target >= 70 %).
# "group commit" = records per fdatasync and fdatasync latency during the POST
# run, from /metrics. "records" compares what the log appended with the 200s
# the daemon sent (must be equal) and the 200s wrk read (wrk drops the
# requests in flight when its timer fires, at most CONNECTIONS). "cpu" is per
# cent of ONE core over the measured run: wrk and tallyd share the machine,
# so a ceiling can be the client's. "softirq" and "other processes" come from
# /proc/stat over the run: other load (a shared machine) skews every figure,
# and the script warns when it saw some. A POST or batch run with any
# non-2xx answer or socket error is not a valid result: the script says so
# loudly and exits non-zero.
#
# PIPELINE=1 runs the daemon as deployed, processing events as they arrive
# (its consumer thread shares the 2 cores with wrk and ingest); PIPELINE=0
# (--no-pipeline) measures ingest alone.
#
# Env: THREADS=1 CONNECTIONS=256 DURATION=10s WARMUP=2s (0 = none) PIPELINE=1
#      REQUEST_POOL=0 (N > 0: wrk sends N pre-formatted POSTs in turn; see post.lua)
#      BATCH_SIZE=100 CONTROL=1 WRK_TIMEOUT=5s USERS=10000
#      VERIFY_TIMEOUT=300s KEEP_DATA=0 (1 = keep the temp dir for a post-mortem)
#      TALLYD=path (default build/tallyd; e.g. to compare two builds in turn)
# Total time is about (3 + CONTROL) * (WARMUP + DURATION) plus start-up.
set -euo pipefail

THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-256}
PIPELINE=${PIPELINE:-1}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
BATCH_SIZE=${BATCH_SIZE:-100}
CONTROL=${CONTROL:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}
VERIFY_TIMEOUT=${VERIFY_TIMEOUT:-300s}
KEEP_DATA=${KEEP_DATA:-0}
USERS=${USERS:-10000}
TARGET_PCT=70
export USERS BATCH_SIZE

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
tallyd=${TALLYD:-$root/build/tallyd}

die() {
  echo "ingest.sh: $*" >&2
  exit 1
}

for tool in wrk curl awk; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh)"
done
[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "DURATION must look like 10s, 1m"
[[ $WARMUP =~ ^[0-9]+[smh]?$ ]] || die "WARMUP must look like 2s or 0"
if [[ ! -x $tallyd && -z ${TALLYD:-} ]]; then
  echo "building tallyd (make build)..."
  make -C "$root" build >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-bench.XXXXXX")
data=$work/data
daemon_pid=

bench_name=ingest.sh
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cleanup() {
  local rc=$?
  stop_daemon || true
  if [[ $KEEP_DATA == 1 ]]; then
    echo "ingest.sh: kept $work (data dir, tallyd.log, wrk outputs, /metrics snapshots)" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stat_busy "CPU_LINE_BEFORE" "CPU_LINE_AFTER" busy|softirq: % of one core,
# from /proc/stat's cpu line (user nice system idle iowait irq softirq steal).
stat_busy() {
  awk -v a="$1" -v b="$2" -v what="$3" -v n="$ncores" 'BEGIN {
    split(a, x, " "); split(b, y, " "); for (i = 1; i <= 8; i++) { d[i] = y[i] - x[i]; t += d[i] }
    if (t <= 0) t = 1
    v = what == "busy" ? d[1] + d[2] + d[3] + d[6] + d[7] : d[7]
    printf "%.0f", v / t * n * 100 }'
}

# Other work on the machine skews every figure: measure it for a second.
ncores=$(nproc)
read -r -a q0 < <(grep '^cpu ' /proc/stat)
sleep 1
read -r -a q1 < <(grep '^cpu ' /proc/stat)
idle_busy=$(stat_busy "${q0[*]:1:8}" "${q1[*]:1:8}" busy)

# ---------------------------------------------------------------- daemon ---
mkdir -p "$data"
tenant_json=$("$tallyd" tenant create bench --data "$data")
write_key=$(sed -n 's/.*"write_key":"\([^"]*\)".*/\1/p' <<<"$tenant_json")
[[ -n $write_key ]] || die "no write_key in: $tenant_json"
export TALLY_WRITE_KEY=$write_key

pipeline_flag=()
((PIPELINE)) || pipeline_flag=(--no-pipeline)
start_daemon "$data" "$work/tallyd.log" "${pipeline_flag[@]}"

# --------------------------------------------------------------- helpers ---
metrics() { curl -sf --max-time 5 "$base/metrics" >"$1" || die "GET /metrics failed"; }

# m FILE NAME{labels}: one sample's value, 0 when absent.
m() { awk -v n="$2" '$1 == n { v = $2 } END { print (v == "" ? 0 : v) }' "$1"; }

# d BEFORE AFTER NAME: the sample's increase.
d() { awk -v a="$(m "$1" "$3")" -v b="$(m "$2" "$3")" 'BEGIN { printf "%.17g", b - a }'; }

# non200 FILE ROUTE: requests on ROUTE answered with anything but 200.
non200() {
  awk -v r="route=\"$2\"" 'index($1, "tally_http_requests_total{") == 1 && index($1, r) &&
    !index($1, "status=\"200\"") { s += $2 } END { print s + 0 }' "$1"
}

# cpu_ticks PID TID: utime+stime of the process (TID empty) or one thread.
cpu_ticks() {
  local f=/proc/$1/stat
  [[ -n ${2:-} ]] && f=/proc/$1/task/$2/stat
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$f" 2>/dev/null || echo 0
}

# Waits until nothing is queued for the log and wrk's connections are gone.
drain() {
  local f=$work/drain.prom
  for _ in $(seq 100); do
    metrics "$f"
    if [[ $(m "$f" tally_log_queue_depth) == 0 ]] && (($(m "$f" tally_http_connections) <= 1)); then
      return 0
    fi
    sleep 0.1
  done
  echo "ingest.sh: warning: daemon still busy 10 s after wrk stopped" >&2
}

declare -A R # R[run.key]

# kv FILE KEY: a field of wrk's BENCH line.
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -1; }

wrk_once() { # NAME SCRIPT PATH DURATION TAG -> $work/NAME.out, .err, .time
  local name=$1 script=$2 path=$3 dur=$4 tag=$5
  local TIMEFORMAT='%R %U %S'
  if ! { time BENCH_RUN=$tag wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --timeout "$WRK_TIMEOUT" \
    -s "$bench/$script" "$base$path" >"$work/$name.out" 2>"$work/$name.err"; } 2>"$work/$name.time"; then
    cat "$work/$name.out" "$work/$name.err" >&2
    die "wrk failed in run $name"
  fi
  grep -q '^BENCH ' "$work/$name.out" || {
    cat "$work/$name.out" "$work/$name.err" >&2
    die "wrk printed no BENCH line in run $name"
  }
}

measure() { # NAME SCRIPT PATH
  local name=$1 script=$2 path=$3
  if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
    wrk_once "$name.warm" "$script" "$path" "$WARMUP" "${name}w"
    drain
  fi
  local hz t0 l0 wall wu ws st0 st1
  hz=$(getconf CLK_TCK)
  metrics "$work/$name.before"
  read -r -a st0 < <(grep '^cpu ' /proc/stat)
  t0=$(cpu_ticks "$daemon_pid")
  l0=$(cpu_ticks "$daemon_pid" "$daemon_pid")
  wrk_once "$name" "$script" "$path" "$DURATION" "$name"
  R[$name.cpu_total]=$(awk -v a="$t0" -v b="$(cpu_ticks "$daemon_pid")" -v hz="$hz" \
    -v s="$(kv "$work/$name.out" duration_us)" 'BEGIN { printf "%.0f", (b - a) / hz / (s / 1e6) * 100 }')
  R[$name.cpu_loop]=$(awk -v a="$l0" -v b="$(cpu_ticks "$daemon_pid" "$daemon_pid")" -v hz="$hz" \
    -v s="$(kv "$work/$name.out" duration_us)" 'BEGIN { printf "%.0f", (b - a) / hz / (s / 1e6) * 100 }')
  read -r -a st1 < <(grep '^cpu ' /proc/stat)
  # machine-wide over the run, in % of one core: busy (user+nice+sys+irq+softirq) and softirq
  R[$name.busy_c]=$(stat_busy "${st0[*]:1:8}" "${st1[*]:1:8}" busy)
  R[$name.sirq_c]=$(stat_busy "${st0[*]:1:8}" "${st1[*]:1:8}" softirq)
  read -r wall wu ws <"$work/$name.time"
  R[$name.cpu_wrk]=$(awk -v r="$wall" -v u="$wu" -v s="$ws" 'BEGIN { printf "%.0f", (u + s) / r * 100 }')
  R[$name.other_c]=$((R[$name.busy_c] - R[$name.cpu_total] - R[$name.cpu_wrk] - R[$name.sirq_c]))
  ((R[$name.other_c] >= 0)) || R[$name.other_c]=0
  drain
  metrics "$work/$name.after"
  local k
  for k in requests rps p50_us p90_us p99_us mean_us max_us e_connect e_read e_write e_status e_timeout; do
    R[$name.$k]=$(kv "$work/$name.out" "$k")
  done
  R[$name.sock]=$((R[$name.e_connect] + R[$name.e_read] + R[$name.e_write] + R[$name.e_timeout]))
  R[$name.wrk200]=$((R[$name.requests] - R[$name.e_status]))
  R[$name.non200]=$(($(non200 "$work/$name.after" "$path") - $(non200 "$work/$name.before" "$path")))
  R[$name.srv200]=$(d "$work/$name.before" "$work/$name.after" \
    "tally_http_requests_total{method=\"$( [[ $script == healthz* ]] && echo GET || echo POST)\",route=\"$path\",status=\"200\"}")
  local b=$work/$name.before a=$work/$name.after
  R[$name.appends]=$(d "$b" "$a" tally_log_appends_total)
  R[$name.gc_sum]=$(d "$b" "$a" tally_log_group_commit_records_sum)
  R[$name.gc_count]=$(d "$b" "$a" tally_log_group_commit_records_count)
  R[$name.sync_sum]=$(d "$b" "$a" tally_log_fdatasync_seconds_sum)
  R[$name.sync_count]=$(d "$b" "$a" tally_log_fdatasync_seconds_count)
  R[$name.ev_ok]=$(d "$b" "$a" 'tally_ingest_events_checked_total{result="accepted"}')
  R[$name.ev_bad]=$(d "$b" "$a" 'tally_ingest_events_checked_total{result="rejected"}')
  R[$name.unavail]=$(d "$b" "$a" tally_ingest_unavailable_total)
  R[$name.log_err]=$(d "$b" "$a" tally_log_errors_total)
  printf '  %-12s %8.0f req/s  p50 %s ms  p99 %s ms  %s requests; %s\n' \
    "$name" "${R[$name.rps]}" "$(ms "${R[$name.p50_us]}")" "$(ms "${R[$name.p99_us]}")" \
    "${R[$name.requests]}" "cpu $(cpu_line "$name")"
}

cpu_line() {
  printf '%% of one core: tallyd %s (loop thread %s), wrk %s, softirq %s, other processes %s' \
    "${R[$1.cpu_total]}" "${R[$1.cpu_loop]}" "${R[$1.cpu_wrk]}" "${R[$1.sirq_c]}" "${R[$1.other_c]}"
}
ms() { awk -v u="$1" 'BEGIN { printf (u < 10000 ? "%.2f" : "%.1f"), u / 1000 }'; }
avg() { awk -v s="$1" -v c="$2" -v k="${3:-1}" -v f="${4:-%.1f}" 'BEGIN { if (c > 0) printf f, s / c * k; else printf "n/a" }'; }

# ------------------------------------------------------------------ runs ---
echo "tally ingest benchmark: wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), $base, tallyd pid $daemon_pid"
echo "  machine before start: $ncores cores, ${idle_busy} % of one core busy"
echo "  $("$tallyd" version 2>&1 | head -1), binary built $(date -u -r "$tallyd" +%FT%TZ), checkout $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')"
measure healthz healthz.lua /healthz
if [[ $CONTROL == 1 ]]; then
  measure healthz_lua healthz_lua.lua /healthz
fi
measure post post.lua /server/v4
measure batch batch.lua /server/v4/batch

# ---------------------------------------------------------------- checks ---
problems=()
check_run() { # NAME LABEL EVENTS_PER_REQUEST
  local n=$1 label=$2 per=$3
  if ((R[$n.e_status] + R[$n.sock] + R[$n.non200] > 0)); then
    problems+=("$label: wrk non-2xx ${R[$n.e_status]}, socket errors ${R[$n.sock]} (connect ${R[$n.e_connect]} read ${R[$n.e_read]} write ${R[$n.e_write]} timeout ${R[$n.e_timeout]}), daemon non-200 answers ${R[$n.non200]} (503 unavailable ${R[$n.unavail]}, log errors ${R[$n.log_err]})")
  fi
  if [[ ${R[$n.appends]} != "${R[$n.srv200]}" ]]; then
    problems+=("$label: records appended ${R[$n.appends]} != daemon's 200 answers ${R[$n.srv200]}")
  fi
  local extra=$((R[$n.appends] - R[$n.wrk200]))
  if ((extra < 0 || extra > CONNECTIONS)); then
    problems+=("$label: records appended ${R[$n.appends]} vs 200s seen by wrk ${R[$n.wrk200]}: off by more than the $CONNECTIONS requests that can be in flight when wrk stops")
  fi
  if [[ ${R[$n.ev_bad]} != 0 || ${R[$n.ev_ok]} != $((R[$n.srv200] * per)) ]]; then
    problems+=("$label: events accepted ${R[$n.ev_ok]} (expected $((R[$n.srv200] * per))), rejected ${R[$n.ev_bad]}")
  fi
}
check_run post "POST /server/v4" 1
check_run batch "POST /server/v4/batch" "$BATCH_SIZE"
for n in healthz healthz_lua; do
  [[ -n ${R[$n.requests]:-} ]] || continue
  if ((R[$n.e_status] + R[$n.sock] + R[$n.non200] > 0)); then
    problems+=("$n: non-2xx ${R[$n.e_status]}, socket errors ${R[$n.sock]}, daemon non-200 ${R[$n.non200]} (ceiling is suspect)")
  fi
done

# --------------------------------------------------------- stop + verify ---
daemon_rc=0
stop_daemon || daemon_rc=$?
((daemon_rc == 0)) || problems+=("tallyd exited with status $daemon_rc after SIGTERM")
verify_rc=0
verify_out=$(timeout "$VERIFY_TIMEOUT" "$tallyd" log verify --data "$data" 2>&1) || verify_rc=$?
if ((verify_rc == 124)); then
  problems+=("tallyd log verify did not finish within $VERIFY_TIMEOUT")
elif ((verify_rc != 0)); then
  problems+=("tallyd log verify failed (status $verify_rc)")
fi

# ---------------------------------------------------------------- report ---
line() { # NAME LABEL SUFFIX
  printf '%-19s %9.0f req/s   p50 %s ms  p99 %s ms%s\n' "$2" "${R[$1.rps]}" \
    "$(ms "${R[$1.p50_us]}")" "$(ms "${R[$1.p99_us]}")" "$3"
}
ratio=$(awk -v p="${R[post.rps]}" -v h="${R[healthz.rps]}" 'BEGIN { printf "%.1f", (h > 0 ? p / h * 100 : 0) }')
echo
echo "== tally ingest: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, request pool ${REQUEST_POOL:-0}, pipeline $( ((PIPELINE)) && echo on || echo off), 127.0.0.1, $(nproc) cores, $(date -u +%FT%TZ) =="
line healthz "healthz" ""
if [[ -n ${R[healthz_lua.rps]:-} ]]; then
  line healthz_lua "healthz+Lua body" "   (control: POST's wrk Lua + body, no handler)"
fi
line post "POST /server/v4" "   (durable)"
printf '%-19s %9s %%  (target >= %d %%)%s%s\n' "ratio" "$ratio" "$TARGET_PCT" \
  "$(awk -v r="$ratio" -v t="$TARGET_PCT" 'BEGIN { if (r < t) printf "   BELOW TARGET" }')" \
  "$([[ -n ${R[healthz_lua.rps]:-} ]] && awk -v p="${R[post.rps]}" -v h="${R[healthz_lua.rps]}" \
    'BEGIN { if (h > 0) printf "   (POST / control %.1f %%)", p / h * 100 }')"
printf '%-19s %9.0f req/s   %.0f events/s   p50 %s ms  p99 %s ms\n' "batch x$BATCH_SIZE" \
  "${R[batch.rps]}" "$(awk -v r="${R[batch.rps]}" -v n="$BATCH_SIZE" 'BEGIN { print r * n }')" \
  "$(ms "${R[batch.p50_us]}")" "$(ms "${R[batch.p99_us]}")"
printf '%-19s avg %s records per fdatasync, avg fdatasync %s ms, %s fdatasyncs/s   (POST run)\n' \
  "group commit" "$(avg "${R[post.gc_sum]}" "${R[post.gc_count]}")" \
  "$(avg "${R[post.sync_sum]}" "${R[post.sync_count]}" 1000 %.2f)" \
  "$(awk -v c="${R[post.sync_count]}" -v r="${R[post.rps]}" -v n="${R[post.requests]}" 'BEGIN { printf "%.0f", (n > 0 ? c / (n / r) : 0) }')"
printf '%-19s avg %s records per fdatasync, avg fdatasync %s ms   (batch run)\n' \
  "group commit batch" "$(avg "${R[batch.gc_sum]}" "${R[batch.gc_count]}")" \
  "$(avg "${R[batch.sync_sum]}" "${R[batch.sync_count]}" 1000 %.2f)"
for n in post batch; do
  printf '%-19s %s appended = %s answered 200 by tallyd; wrk read %s (%s in flight when wrk stopped, <= %s)\n' \
    "records ($n)" "${R[$n.appends]}" "${R[$n.srv200]}" "${R[$n.wrk200]}" \
    "$((R[$n.appends] - R[$n.wrk200]))" "$CONNECTIONS"
done
max() { if (($1 > $2)); then echo "$1"; else echo "$2"; fi; }
printf '%-19s POST: non-2xx %s, socket errors %s;  batch: non-2xx %s, socket errors %s, events rejected %s\n' \
  "errors" "$(max "${R[post.e_status]}" "${R[post.non200]}")" "${R[post.sock]}" \
  "$(max "${R[batch.e_status]}" "${R[batch.non200]}")" "${R[batch.sock]}" "${R[batch.ev_bad]}"
printf '%-19s %s\n' "cpu healthz" "$(cpu_line healthz)"
printf '%-19s %s\n' "cpu POST" "$(cpu_line post)"
printf '%-19s %s\n' "log verify" "$(tr '\n' ' ' <<<"$verify_out")"

noisy=()
((idle_busy <= 25)) || noisy+=("before start: ${idle_busy} % of one core busy with nothing of ours running")
for n in healthz healthz_lua post batch; do
  [[ -n ${R[$n.other_c]:-} ]] || continue
  ((R[$n.other_c] <= 25)) || noisy+=("$n run: other processes used ${R[$n.other_c]} % of one core")
done
if ((${#noisy[@]} > 0)); then
  echo
  echo "*** WARNING: the machine was not quiet; these figures understate tallyd and"
  echo "*** are not comparable with a quiet run:"
  for p in "${noisy[@]}"; do echo "***   $p"; done
fi

if ((${#problems[@]} > 0)); then
  echo
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! INVALID BENCHMARK:"
  for p in "${problems[@]}"; do echo "!!!   $p"; done
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 1
fi
