"""Integration test harness: starts the real tallyd on a free port and talks
HTTP to it over real sockets.

Each test file calls run(globals()): every function named test_* runs in
order, each with a fresh data directory; a failing assertion or a daemon
that did not exit cleanly (sanitizer report, non-zero status after SIGTERM)
fails the file. TALLYD names the binary under test (ctest sets it, for the
release and the ASan+UBSan build alike).
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TALLYD = os.environ.get("TALLYD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "test", "tallyd")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def tallyd(*args, data=None, check=True, env=None, timeout=60):
    """Runs a tallyd subcommand; returns CompletedProcess (text mode)."""
    cmd = [TALLYD, *args]
    if data is not None:
        cmd += ["--data", data]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p


def create_tenant(data, name="acme"):
    p = tallyd("tenant", "create", name, data=data)
    return json.loads(p.stdout)


def dump(data, *extra):
    p = tallyd("log", "dump", *extra, data=data)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def dumped_event_ids(data):
    """event_ids of every event in the log (single and batch records)."""
    ids = []
    for rec in dump(data):
        body = json.loads(rec["body"])
        events = body["events"] if rec["kind"] == "batch" else [body]
        ids += [e.get("event_id") for e in events if isinstance(e, dict)]
    return ids


def iso_now(offset_s=0.0):
    """The current time (plus offset_s) as ISO-8601 UTC with milliseconds."""
    t = time.time() + offset_s
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def event(event_id, user="user-1", name="order_placed", ts=None, **props):
    return {
        "event_id": event_id,
        "event_name": name,
        "user_id": user,
        "timestamp": ts or iso_now(),
        "event_properties": props or {"amount": 120},
    }


def admin(key):
    return {"Authorization": "Bearer " + key}


def wait_for(check, timeout=20, what="condition"):
    """Polls check() until it returns a true value; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


_live = []  # daemons started by the running test, killed if it fails


class Daemon:
    """A tallyd serve process on 127.0.0.1 and a free port."""

    def __init__(self, data, *args, bootstrap=False, env=None):
        self.data = data
        self.terminated = False
        _live.append(self)
        cmd = [TALLYD, "serve", "--data", data, "--listen", "127.0.0.1:0"]
        if not bootstrap:
            cmd.append("--no-bootstrap")
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.stderr_lines = []
        self.stdout_lines = []
        self._listening = threading.Event()
        self.port = None
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr_lines, True),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout_lines, False),
                         daemon=True).start()
        deadline = time.monotonic() + 30
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                time.sleep(0.1)  # let the reader threads take the last lines
                raise AssertionError("tallyd did not start:\n" + self.stderr())

    def _pump(self, stream, lines, watch):
        for line in stream:
            lines.append(line)
            if watch and 'msg="listening"' in line:
                self.port = int(re.search(r"addr=[^ ]*:(\d+)", line).group(1))
                self._listening.set()

    def stderr(self):
        return "".join(self.stderr_lines)

    def stdout(self):
        return "".join(self.stdout_lines)

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def sock(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One request on a fresh connection: (status, headers dict, body bytes)."""
        c = self.conn(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def post(self, path, body, key):
        return self.request("POST", path, body,
                            {"X-API-KEY": key, "Content-Type": "application/json"})

    def get_json(self, path, key):
        """GET with an admin key: (status, parsed JSON)."""
        status, _, body = self.request("GET", path, headers=admin(key))
        return status, json.loads(body)

    def send_json(self, method, path, body, key):
        status, _, answer = self.request(method, path, body, admin(key))
        return status, json.loads(answer)

    def caught_up(self):
        """True once the pipeline has processed everything durable."""
        m = self.metrics()
        return m.get("tally_pipeline_lag_bytes", 1) == 0 and \
            m.get("tally_pipeline_position_bytes", -1) == m["tally_log_durable_offset_bytes"]

    def wait_processed(self, timeout=30):
        wait_for(self.caught_up, timeout, "the pipeline to catch up")

    def metrics(self):
        status, _, body = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def terminate(self):
        """Sends SIGTERM once (a second one means: exit at once)."""
        if not self.terminated and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status. Fails on sanitizer reports."""
        self.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("tallyd did not stop within %ss after SIGTERM" % timeout)
        time.sleep(0.05)
        self.check_clean()
        return rc

    def kill(self):
        """SIGKILL: no chance to flush or clean up."""
        self.proc.kill()
        self.proc.wait(10)

    def check_clean(self):
        text = self.stderr()
        for marker in SANITIZER_MARKERS:
            assert marker not in text, "sanitizer report from tallyd:\n" + text


def kill_during_catch_up(data, rng, *args, timeout=120):
    """Starts the daemon on `data` (with args) again and again, each time SIGKILLing it
    a moment (0-30 ms, from rng) after its pipeline committed at least one
    batch since starting, until it has caught up; stops it cleanly then.
    Returns how many times it was killed."""
    kills = 0
    while True:
        d = Daemon(data, *args)
        start = d.metrics()["tally_pipeline_position_bytes"]
        # Kill it once it has committed at least one batch since starting,
        # a moment later: mostly in the middle of the next one.
        m = wait_for(lambda: (lambda m: m if m["tally_pipeline_lag_bytes"] == 0 or
                              m["tally_pipeline_position_bytes"] > start else None)(d.metrics()),
                     timeout=timeout, what="pipeline progress")
        if m["tally_pipeline_lag_bytes"] == 0:
            assert d.stop() == 0
            return kills
        time.sleep(rng.uniform(0, 0.03))
        d.kill()
        kills += 1


def read_response(sock, buf=b""):
    """Reads one HTTP/1.1 response from a raw socket.
    Returns (status, headers, body, rest_of_buffer)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full response; got %r" % buf)
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a response body")
        buf += chunk
    return status, headers, buf[:n], buf[n:]


def raw_request(method, path, body=b"", headers=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    h = {"Host": "127.0.0.1", "Content-Length": str(len(body))}
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return head.encode() + body


def wait_closed(sock, timeout=5):
    """True if the peer closes the connection within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def run(namespace):
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    failed = passed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        tmp = tempfile.mkdtemp(prefix="tally-it-")
        start = time.monotonic()
        try:
            fn(os.path.join(tmp, "data"))
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
        finally:
            for d in _live:
                if d.proc.poll() is None:
                    d.proc.kill()
                    d.proc.wait()
            _live.clear()
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
