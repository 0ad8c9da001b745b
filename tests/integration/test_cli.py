"""The operator commands: tenant create/list, log dump/verify, serve --help,
and the first start that creates the `default` tenant and prints a curl
command that really works."""

import json
import os
import re
import subprocess
import time

from harness import Daemon, create_tenant, dump, event, run, tallyd


def test_tenant_create_and_list(data):
    a = create_tenant(data, "acme")
    b = create_tenant(data, "beta.co")
    assert set(a) == {"tenant", "id", "write_key", "admin_key"}
    assert a["tenant"] == "acme" and b["id"] == a["id"] + 1
    assert re.fullmatch(r"tly_wk_[0-9a-f]{40}", a["write_key"])
    assert re.fullmatch(r"tly_ak_[0-9a-f]{40}", a["admin_key"])
    assert len({a["write_key"], a["admin_key"], b["write_key"], b["admin_key"]}) == 4
    p = tallyd("tenant", "create", "acme", data=data, check=False)
    assert p.returncode == 3 and "already exists" in p.stderr
    p = tallyd("tenant", "create", "bad name", data=data, check=False)
    assert p.returncode == 1 and "tenant name" in p.stderr
    rows = [json.loads(line) for line in tallyd("tenant", "list", data=data).stdout.splitlines()]
    assert [(r["id"], r["tenant"]) for r in rows] == [(a["id"], "acme"), (b["id"], "beta.co")]
    # Only hashes are stored.
    with open(os.path.join(data, "state.db"), "rb") as f:
        raw = f.read()
    assert a["write_key"].encode() not in raw and a["admin_key"].encode() not in raw


def test_serve_help_lists_every_option(data):
    out = tallyd("serve", "--help").stdout
    for flag, env, default in [("--data", "TALLY_DATA", "./data"),
                               ("--listen", "TALLY_LISTEN", "127.0.0.1:8080"),
                               ("--max-body", "TALLY_MAX_BODY", "1m"),
                               ("--max-header", "TALLY_MAX_HEADER", "16k"),
                               ("--header-timeout", "TALLY_HEADER_TIMEOUT", "10s"),
                               ("--body-timeout", "TALLY_BODY_TIMEOUT", "30s"),
                               ("--idle-timeout", "TALLY_IDLE_TIMEOUT", "60s"),
                               ("--shutdown-grace", "TALLY_SHUTDOWN_GRACE", "10s"),
                               ("--segment-size", "TALLY_SEGMENT_SIZE", "128m"),
                               ("--queue-records", "TALLY_QUEUE_RECORDS", "65536"),
                               ("--pipeline-batch", "TALLY_PIPELINE_BATCH", "100000"),
                               ("--pipeline-batch-time", "TALLY_PIPELINE_BATCH_TIME", "2s"),
                               ("--engine-cache", "TALLY_ENGINE_CACHE", "512m"),
                               ("--segments-cache", "TALLY_SEGMENTS_CACHE", "256m"),
                               ("--log-level", "TALLY_LOG_LEVEL", "info")]:
        assert flag in out and "env %s, default %s" % (env, default) in out, flag
    p = tallyd("serve", "--bogus", check=False)
    assert p.returncode == 2 and "unknown option '--bogus'" in p.stderr
    p = tallyd("serve", "--max-body", "lots", check=False)
    assert p.returncode == 2 and "not a size" in p.stderr


def test_environment_configures_serve(data):
    create_tenant(data)
    d = Daemon(data, env=dict(os.environ, TALLY_MAX_BODY="100"))
    status, _, _ = d.request("POST", "/server/v4", json.dumps(event("too-big-for-100")))
    assert status == 413
    assert d.stop() == 0


def test_first_start_prints_working_curl(data):
    d = Daemon(data, bootstrap=True)
    deadline = time.monotonic() + 10
    while "See what became of it" not in d.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)  # stdout is read by another thread than the one that saw "listening"
    out = d.stdout()
    keys = dict(re.findall(r"(write|admin) key \(.*?\):\s+(tly_\w+)", out))
    assert set(keys) == {"write", "admin"}, out
    curl = out[out.index("curl "):].split("\n\n")[0].strip()  # the first command
    assert keys["write"] in curl and "http://127.0.0.1:%d/" % d.port in curl
    p = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and json.loads(p.stdout) == {"success": True}, (p.stdout, p.stderr)
    lookup = out[out.index("See what became of it:"):].split("\n")[1].strip()
    assert lookup.startswith("curl ") and keys["admin"] in lookup
    d.wait_processed()
    p = subprocess.run(["bash", "-c", lookup], capture_output=True, text=True, timeout=30)
    assert json.loads(p.stdout)["status"] == "processed", p.stdout
    assert d.stop() == 0
    assert json.loads(dump(data)[0]["body"])["event_id"] == "first-1"
    # The next start creates no other tenant and shows no keys.
    d = Daemon(data, bootstrap=True)
    assert d.stop() == 0
    assert "created tenant" not in d.stdout()
    assert len(tallyd("tenant", "list", data=data).stdout.splitlines()) == 1


def test_log_dump_from_offset_and_limit(data):
    t = create_tenant(data)
    d = Daemon(data)
    for i in range(5):
        assert d.post("/server/v4", json.dumps(event("o-%d" % i)), t["write_key"])[0] == 200
    assert d.stop() == 0
    recs = dump(data)
    assert [json.loads(r["body"])["event_id"] for r in recs] == ["o-%d" % i for i in range(5)]
    third = recs[2]["offset"]
    tail = dump(data, "--from", str(third))
    assert [r["offset"] for r in tail] == [r["offset"] for r in recs[2:]]
    assert len(dump(data, "--limit", "2")) == 2
    # An offset inside a record is refused, whatever the bytes there look
    # like (inside the last record too); the log's end is a boundary.
    last = recs[-1]["offset"]
    for inside in (third + 1, third + 7, last + 1, last + 20):
        p = tallyd("log", "dump", "--from", str(inside), data=data, check=False)
        assert p.returncode == 1 and "record boundary" in p.stderr, (inside, p.stderr)
    size = os.path.getsize(os.path.join(data, "log", sorted(os.listdir(os.path.join(data, "log")))[-1]))
    end = int(sorted(os.listdir(os.path.join(data, "log")))[-1].split(".")[0]) + size
    assert dump(data, "--from", str(end)) == []


def test_log_verify_finds_corruption(data):
    t = create_tenant(data)
    d = Daemon(data)
    for i in range(3):
        assert d.post("/server/v4", json.dumps(event("v-%d" % i)), t["write_key"])[0] == 200
    assert d.stop() == 0
    ok = json.loads(tallyd("log", "verify", data=data).stdout)
    assert ok["ok"] is True and ok["records"] == 3
    second = dump(data)[1]["offset"]
    seg = os.path.join(data, "log", "%020d.log" % 0)
    with open(seg, "r+b") as f:
        f.seek(second + 60)
        b = f.read(1)
        f.seek(second + 60)
        f.write(bytes([b[0] ^ 0x40]))
    p = tallyd("log", "verify", data=data, check=False)
    bad = json.loads(p.stdout)
    assert p.returncode == 1 and bad["ok"] is False and bad["offset"] == second, bad
    # On start the corrupt tail is moved aside (not deleted) and appends go on.
    d = Daemon(data)
    assert d.post("/server/v4", json.dumps(event("v-new")), t["write_key"])[0] == 200
    assert d.stop() == 0
    assert "event log tail recovered" in d.stderr() and "reason=corrupt" in d.stderr()
    assert os.path.exists(os.path.join(data, "log", "corrupt-%020d.bin" % second))
    assert [json.loads(r["body"])["event_id"] for r in dump(data)] == ["v-0", "v-new"]
    assert json.loads(tallyd("log", "verify", data=data).stdout)["ok"] is True


if __name__ == "__main__":
    run(globals())
