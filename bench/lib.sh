# Shared by the bench scripts (sourced): stopping the daemon they started.
# Expects: daemon_pid (the PID of tallyd, empty when none), bench_name.

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
