-- Shared by the bench/*.lua wrk scripts: the done() callback prints one
-- machine-readable line that bench/ingest.sh parses.
--   BENCH requests=N duration_us=N rps=R p50_us=N p90_us=N p99_us=N
--         mean_us=R max_us=N e_connect=N e_read=N e_write=N e_status=N
--         e_timeout=N bytes=N
-- e_status is wrk's count of HTTP status > 399; the socket error counts are
-- connect/read/write/timeout. Latencies are microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
    "mean_us=%.1f max_us=%d e_connect=%d e_read=%d e_write=%d e_status=%d " ..
    "e_timeout=%d bytes=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status,
    e.timeout, summary.bytes))
end
