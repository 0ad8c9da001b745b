# shellcheck shell=bash
# shellcheck disable=SC2154 # bench_name and tallyd are set by the script that sources this
# Shared by the bench scripts (sourced): starting and stopping the daemon they
# started. Expects: daemon_pid (the PID of tallyd, empty when none), bench_name,
# tallyd (the binary) and a die function.

# alive PID: running and not yet a zombie waiting for us to reap it.
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# SIGTERM, up to 15 s for a graceful stop, then SIGKILL; returns its status.
stop_daemon() {
  [[ -n $daemon_pid ]] || return 0
  local pid=$daemon_pid rc=0
  daemon_pid=
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "$bench_name: tallyd (pid $pid) ignored SIGTERM for 15 s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

# start_daemon DATA LOGFILE [ARGS...]: tallyd serve on 127.0.0.1 and a free
# port, stderr to LOGFILE; sets daemon_pid, port and base, or dies.
start_daemon() {
  local data=$1 log=$2
  shift 2
  "$tallyd" serve --data "$data" --listen 127.0.0.1:0 --no-bootstrap "$@" 2>"$log" &
  daemon_pid=$!
  port=
  for _ in $(seq 100); do
    if ! alive "$daemon_pid"; then
      cat "$log" >&2
      wait "$daemon_pid" || true
      daemon_pid=
      die "tallyd exited during start-up"
    fi
    port=$(sed -n 's/.*msg="listening" addr=127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log")
    [[ -n $port ]] && break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    cat "$log" >&2
    die "tallyd did not log its listening address within 10 s"
  fi
  base=http://127.0.0.1:$port
  curl -sf --max-time 5 "$base/healthz" >/dev/null || die "GET /healthz failed on $base"
}

# jfield JSON NAME: the member NAME of a JSON object.
jfield() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# bench_workdir PREFIX: builds tallyd, makes $work (removed on exit, with the
# daemon stopped) and sets the traps.
bench_workdir() {
  echo "building tallyd (make build)..."
  make -C "$root" build >/dev/null
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  daemon_pid=
  port=
  base=
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local rc=$?
  stop_daemon || true
  rm -rf "$work"
  exit "$rc"
}

# load_events DATA SEED: a daemon with --no-pipeline on DATA takes N events
# of USERS users (DUP_PCT % resent, CONNECTIONS connections, batches of
# 500) from bench/pipeline_load.py with write_key; prints the loader's JSON.
load_events() {
  local rc=0 out
  start_daemon "$1" "$work/tallyd-load.log" --no-pipeline
  out=$(python3 "$root/bench/pipeline_load.py" --url "$base" --key "$write_key" \
    --events "$N" --users "$USERS" --dup-pct "$DUP_PCT" --batch 500 \
    --connections "$CONNECTIONS" --seed "$2") || die "loading events failed (see above)"
  stop_daemon || rc=$?
  ((rc == 0)) || die "tallyd exited with status $rc after SIGTERM"
  echo "$out"
}

# preload DATA: a tenant "bench" in a new data dir (sets write_key and
# admin_key), then load_events with SEED.
preload() {
  mkdir -p "$1"
  local tenant_json
  tenant_json=$("$tallyd" tenant create bench --data "$1")
  write_key=$(jfield "$tenant_json" write_key)
  admin_key=$(jfield "$tenant_json" admin_key)
  [[ -n $write_key && -n $admin_key ]] || die "no keys in: $tenant_json"
  echo "preloading $N events ($USERS users, $DUP_PCT % resent, $CONNECTIONS connections) ..."
  echo "  loader: $(load_events "$1" "$SEED")"
}
