"""Event log failures, injected with the test build's /debug/log-fault hook:
a failed write or fdatasync answers 503 with Retry-After, nothing is
acknowledged that is not on disk, the log stays failed (every later ingest
is 503), /readyz fails while /healthz and /metrics keep answering, and a
restart recovers. A full queue answers 503 with Retry-After too."""

import json

from harness import Daemon, create_tenant, dumped_event_ids, event, run, wait_for


def fail_next(d, op):
    status, _, answer = d.request("POST", "/debug/log-fault?op=" + op)
    assert status == 200, answer


def check_failed_state(d, key):
    status, headers, answer = d.post("/server/v4", json.dumps(event("after-fault")), key)
    assert status == 503 and headers["retry-after"] == "5", answer
    assert json.loads(answer)["error"] == "unavailable"
    assert d.request("GET", "/healthz")[0] == 200
    status, _, answer = d.request("GET", "/readyz")
    assert status == 503 and json.loads(answer)["reason"] == "event log is not writable"
    m = d.metrics()
    assert m["tally_log_failed"] == 1 and m["tally_log_errors_total"] == 1 and m["tally_ready"] == 0


def test_failed_fsync(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = t["write_key"]
    assert d.post("/server/v4", json.dumps(event("before")), key)[0] == 200
    fail_next(d, "fsync")
    status, headers, answer = d.post("/server/v4", json.dumps(event("during")), key)
    assert status == 503 and "retry-after" in headers, answer
    check_failed_state(d, key)
    # Logged by the writer thread; the line may reach us a moment later.
    wait_for(lambda: 'msg="event log failed; refusing further appends until restart" '
             'op=fdatasync' in d.stderr(), timeout=10, what="the log's failure line")
    assert d.stop() == 0
    ids = dumped_event_ids(data)
    assert "before" in ids and "after-fault" not in ids
    # A restart recovers what is really on disk and accepts again.
    d = Daemon(data)
    assert d.request("GET", "/readyz")[0] == 200
    assert d.post("/server/v4", json.dumps(event("restarted")), key)[0] == 200
    assert d.stop() == 0
    assert "restarted" in dumped_event_ids(data)


def test_failed_write(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = t["write_key"]
    assert d.post("/server/v4", json.dumps(event("before")), key)[0] == 200
    fail_next(d, "write")
    assert d.post("/server/v4", json.dumps(event("during")), key)[0] == 503
    check_failed_state(d, key)
    assert d.stop() == 0
    assert dumped_event_ids(data) == ["before"]  # the failed write left nothing behind


def test_full_queue_is_503_with_retry_after(data):
    t = create_tenant(data)
    d = Daemon(data, "--queue-bytes", "100")  # smaller than any record
    status, headers, answer = d.post("/server/v4", json.dumps(event("no-room")), t["write_key"])
    assert status == 503 and headers["retry-after"] == "1", answer
    assert "queue is full" in json.loads(answer)["message"]
    assert d.request("GET", "/readyz")[0] == 200  # busy is not broken
    assert d.metrics()["tally_log_refused_busy_total"] == 1
    assert d.stop() == 0
    assert dumped_event_ids(data) == []


if __name__ == "__main__":
    run(globals())
