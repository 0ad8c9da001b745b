#!/usr/bin/env bash
# bench/sources.sh — events/s through each source adapter, in process, side
# by side in one run.
#
# Builds bench/sources_bench.c (Release, in build/, target sources_bench) and
# runs it on records built from tests/fixtures/<source>/, batched as each
# tool sends them (MoEngage 100 events per request, Segment's tracking API
# {"batch":[…]} of 15, a Segment webhook array of 15, a CleverTap broadcast
# of 100 profiles, one event per request for the server API and WebEngage).
# For each source it times, on one thread:
#   split+map      decode + normalize: the record's body parsed and split
#                  into items, each item mapped to a canonical event (what
#                  the pipeline does before validation and storage);
#   ingest check   the check ingest runs on the body before appending it.
# Each is given as events/s over wall time and per second of CPU time the
# process got (steadier on a shared machine), and relative to the server
# adapter's, measured in the same run. Every item must map, else the run is
# invalid (exit 1). "cpu %" below 95 means other work took the core for part
# of the run. The load average before the run is printed for the same reason.
#
# Env: SECONDS_PER_RUN=1 (each source, each round) ROUNDS=3 (median printed)
# Total time is about 12 * ROUNDS * SECONDS_PER_RUN plus the build.
set -euo pipefail

SECONDS_PER_RUN=${SECONDS_PER_RUN:-1}
ROUNDS=${ROUNDS:-3}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build

die() {
  echo "sources.sh: $*" >&2
  exit 1
}

[[ $SECONDS_PER_RUN =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SECONDS_PER_RUN must be a number of seconds"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"

echo "building sources_bench (Release, $build)..."
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target sources_bench >/dev/null

cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
echo
echo "== tally sources: $(nproc) cores (${cpu:-unknown CPU}), $(date -u +%FT%TZ), checkout $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?') =="
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: SECONDS_PER_RUN=$SECONDS_PER_RUN ROUNDS=$ROUNDS bench/sources.sh"
echo
cd "$root"
"$build/sources_bench" tests/fixtures "$SECONDS_PER_RUN" "$ROUNDS"
