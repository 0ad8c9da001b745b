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
