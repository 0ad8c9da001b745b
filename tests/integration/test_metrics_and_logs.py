"""GET /metrics exposes what operators need (requests by route and status,
bytes, log appends, group-commit sizes, fdatasync latency, queue depth);
the daemon's log lines never carry keys or request bodies."""

import json

from harness import Daemon, create_tenant, event, run


def test_metrics_families_and_counts(data):
    t = create_tenant(data)
    d = Daemon(data)
    for i in range(3):
        assert d.post("/server/v4", json.dumps(event("m-%d" % i)), t["write_key"])[0] == 200
    assert d.post("/server/v4", "{}", t["write_key"])[0] == 400
    assert d.post("/server/v4", "{}", "wrong")[0] == 401
    m = d.metrics()
    assert m['tally_http_requests_total{method="POST",route="/server/v4",status="200"}'] == 3
    assert m['tally_http_requests_total{method="POST",route="/server/v4",status="400"}'] == 1
    assert m['tally_http_requests_total{method="POST",route="/server/v4",status="401"}'] == 1
    assert m["tally_log_appends_total"] == 3
    assert m["tally_log_group_commit_records_count"] == m["tally_log_group_commits_total"] >= 1
    assert m["tally_log_group_commit_records_sum"] == 3
    assert m["tally_log_fdatasync_seconds_count"] >= 1
    assert m['tally_log_fdatasync_seconds_bucket{le="+Inf"}'] == m["tally_log_fdatasync_seconds_count"]
    assert m["tally_log_queue_depth"] == 0
    assert m["tally_http_received_bytes_total"] > 0 and m["tally_http_sent_bytes_total"] > 0
    assert m['tally_ingest_events_checked_total{result="rejected"}'] == 1
    assert m["tally_auth_failures_total"] == 1
    assert m["tally_ready"] == 1
    status, headers, _ = d.request("GET", "/metrics")
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert d.stop() == 0


def test_no_keys_or_bodies_in_logs(data):
    t = create_tenant(data)
    d = Daemon(data, "--log-level", "debug")
    secret_prop = "very-private-property-value"
    d.post("/server/v4", json.dumps(event("s-1", secret=secret_prop)), t["write_key"])
    d.post("/server/v4", json.dumps({"event_id": secret_prop}), t["write_key"])
    d.request("GET", "/metrics", headers={"Authorization": "Bearer " + t["admin_key"]})
    d.post("/server/v4", "{}", t["admin_key"])
    assert d.stop() == 0
    text = d.stderr() + d.stdout()
    for s in (t["write_key"], t["admin_key"], secret_prop, "s-1"):
        assert s not in text, s
    assert 'msg="listening"' in text and 'msg="stopped"' in text


if __name__ == "__main__":
    run(globals())
