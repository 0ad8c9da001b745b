#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR for SECONDS each.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS      (what `make fuzz` calls)
#
# For each BUILD_DIR/fuzz_<name> executable, one after another:
#   1. every file in tests/fuzz/regressions/fuzz_<name>/ is run once (inputs
#      that once crashed it and must not any more);
#   2. the fuzzer runs for SECONDS on a scratch copy of its seed corpus
#      (BUILD_DIR/fuzz-run/fuzz_<name>/corpus; the committed corpus is never
#      written), with its dictionary where there is one. Crash, leak and
#      timeout inputs are written to BUILD_DIR/fuzz-run/fuzz_<name>/artifacts/.
# Prints one line per target, `fuzz_<name>: N runs, OK` or `... FAILED`,
# with the top of the failing run's report (the whole of it is in fuzz.log
# or regressions.log beside the artifacts) before it, and exits non-zero if
# any target failed.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
secs=$2
case $secs in
  '' | *[!0-9]*) echo "$0: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)

# UBSan findings in the drivers are fatal too (the library is built with
# -fno-sanitize-recover already).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

dict_for() {
  case $1 in
    fuzz_http1) echo "$here/http.dict" ;;
    fuzz_server_event | fuzz_server_scan | fuzz_server_adapter | fuzz_segment_adapter | fuzz_moengage_adapter | fuzz_webengage_adapter | fuzz_clevertap_adapter | fuzz_source_settings) echo "$here/json.dict" ;;
    fuzz_timestamp) echo "$here/timestamp.dict" ;;
    fuzz_campaign) echo "$here/campaign.dict" ;;
    fuzz_webhook_settings | fuzz_webhook_template) echo "$here/json.dict" ;;
    *) echo "" ;;
  esac
}

# Longest input worth trying: past every limit the target enforces, small
# enough to keep executions fast.
max_len_for() {
  case $1 in
    fuzz_http1) echo 131072 ;;      # a chunked body past max_body (65536)
    fuzz_server_event | fuzz_server_scan) echo 65536 ;;
    fuzz_segment_adapter) echo 65536 ;; # past the 32 KB per-event limit
    fuzz_moengage_adapter) echo 65536 ;;
    fuzz_webengage_adapter) echo 65536 ;;
    fuzz_clevertap_adapter) echo 65536 ;;
    fuzz_timestamp) echo 64 ;;
    fuzz_campaign) echo 66000 ;; # past TLY_CAMPAIGN_JSON_MAX (65536)
    fuzz_log_record) echo 65536 ;;
    fuzz_log_recovery) echo 65536 ;;
    fuzz_tzif) echo 16384 ;; # real zone files are 0.1-4 KB
    *) echo 4096 ;;
  esac
}

targets=()
for bin in "$build"/fuzz_*; do
  if [ -f "$bin" ] && [ -x "$bin" ]; then
    targets+=("$bin")
  fi
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "$0: no fuzz_* executables in $build (configure with -DTALLY_FUZZ=ON)" >&2
  exit 2
fi

# Targets that need files (fuzz_log_recovery) make them under $TMPDIR: a
# scratch dir on tmpfs when there is one, removed at exit with whatever a
# crashing run left behind.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  scratch=$(mktemp -d /dev/shm/tally-fuzz-run.XXXXXX)
else
  mkdir -p "$build/fuzz-run"
  scratch=$(mktemp -d "$build/fuzz-run/tmp.XXXXXX")
fi
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

failed=0
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  work="$build/fuzz-run/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  log="$work/fuzz.log"
  reglog="$work/regressions.log"
  : >"$log"
  : >"$reglog"
  common=(-timeout=10 -rss_limit_mb=2048 "-max_len=$(max_len_for "$name")")
  problems=()
  bad_logs=() # logs to show: regressions.log and/or fuzz.log

  # 1. Regression inputs, each run once.
  regdir="$here/regressions/$name"
  if [ -d "$regdir" ]; then
    for input in "$regdir"/*; do
      [ -f "$input" ] || continue
      if ! "$bin" "${common[@]}" "$input" >>"$reglog" 2>&1; then
        problems+=("regression ${input#"$here"/}")
        [ ${#bad_logs[@]} -gt 0 ] || bad_logs+=("$reglog")
      fi
    done
  fi

  # 2. Fuzzing from a scratch copy of the seed corpus.
  if [ -d "$here/corpus/$name" ]; then
    cp -R "$here/corpus/$name/." "$work/corpus/"
  fi
  seeds=$(find "$work/corpus" -type f | wc -l)
  args=("${common[@]}" "-max_total_time=$secs" -print_final_stats=1
        "-artifact_prefix=$work/artifacts/")
  dict=$(dict_for "$name")
  if [ -n "$dict" ]; then
    args+=("-dict=$dict")
  fi
  if ! "$bin" "${args[@]}" "$work/corpus" >>"$log" 2>&1; then
    found=$(find "$work/artifacts" -type f -print -quit)
    problems+=("fuzzing: ${found:-see $log}")
    bad_logs+=("$log")
  fi

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [ -z "$runs" ]; then
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
  fi
  total=$(find "$work/corpus" -type f | wc -l)
  if [ ${#problems[@]} -eq 0 ]; then
    echo "$name: ${runs:-0} runs, OK (${speed:-?} exec/s, corpus $seeds -> $total)"
  else
    failed=$((failed + 1))
    for l in "${bad_logs[@]}"; do
      # Which input, what went wrong, and the frames outside libFuzzer/libc.
      echo "---- $name: from $l" >&2
      { grep -E '^Running: |ERROR|SUMMARY|runtime error|(READ|WRITE) of size|is located|^ +#[0-9]+ ' "$l" |
          grep -vE ' in (fuzzer::|__sanitizer|__asan|__interceptor|__libc|_start|main |raise|abort|__pthread)|[(]/lib/' |
          head -n 60 >&2; } || true
    done
    echo "$name: ${runs:-0} runs, FAILED (${problems[*]})"
  fi
done

if [ $failed -ne 0 ]; then
  echo "fuzz: $failed of ${#targets[@]} targets FAILED" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets OK"
