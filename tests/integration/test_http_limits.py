"""HTTP limits and timeouts with raw sockets: 413 before the body is read,
431, 414, 408 for slow headers and slow bodies, quiet close when idle,
400 and close for malformed requests; a stalled client does not hold up
others."""

import json
import time

from harness import Daemon, create_tenant, event, raw_request, read_response, run, wait_closed


def test_body_over_limit_is_413_before_it_is_sent(data):
    t = create_tenant(data)
    d = Daemon(data, "--max-body", "4k")
    s = d.sock()
    # Only the headers: the answer must come without the body being sent.
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + t["write_key"].encode() +
              b"\r\nContent-Length: 5000\r\n\r\n")
    status, headers, body, _ = read_response(s)
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(body)["error"] == "too_large"
    assert wait_closed(s)
    # Exactly at the limit is fine.
    ev = event("fits", pad="x" * (4096 - len(json.dumps(event("fits", pad="")))))
    status, _, answer = d.post("/server/v4", json.dumps(ev), t["write_key"])
    assert len(json.dumps(ev)) == 4096 and status == 200, answer
    assert d.stop() == 0


def test_chunked_body_over_limit_is_413(data):
    t = create_tenant(data)
    d = Daemon(data, "--max-body", "1k")
    s = d.sock()
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + t["write_key"].encode() +
              b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(3):
        s.sendall(b"200\r\n" + b"a" * 0x200 + b"\r\n")
    status, _, _, _ = read_response(s)
    assert status == 413
    assert d.stop() == 0


def test_headers_too_large_is_431(data):
    create_tenant(data)
    d = Daemon(data, "--max-header", "2k")
    s = d.sock()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n")
    status, headers, _, _ = read_response(s)
    assert status == 431 and headers["connection"] == "close"
    s = d.sock()
    s.sendall(b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(70)) +
              b"\r\n")
    assert read_response(s)[0] == 431  # too many header fields
    assert d.stop() == 0


def test_url_too_long_is_414(data):
    create_tenant(data)
    d = Daemon(data, "--max-url", "1k")
    s = d.sock()
    s.sendall(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(s)[0] == 414
    assert d.stop() == 0


def test_slow_headers_get_408(data):
    create_tenant(data)
    d = Daemon(data, "--header-timeout", "300ms")
    s = d.sock()
    start = time.monotonic()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
    # Dribbling bytes does not extend the deadline.
    for _ in range(3):
        time.sleep(0.05)
        s.sendall(b"X-A: b\r\n")
    status, headers, body, _ = read_response(s)
    elapsed = time.monotonic() - start
    assert status == 408 and headers["connection"] == "close", body
    assert 0.25 < elapsed < 5, elapsed
    assert wait_closed(s)
    assert d.metrics()["tally_http_timeouts_total"] == 1
    assert d.stop() == 0


def test_slow_body_gets_408(data):
    t = create_tenant(data)
    d = Daemon(data, "--body-timeout", "300ms")
    s = d.sock()
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + t["write_key"].encode() +
              b"\r\nContent-Length: 100\r\n\r\n{\"event_id\":")
    status, _, _, _ = read_response(s)
    assert status == 408
    assert d.stop() == 0


def test_idle_connection_is_closed_quietly(data):
    create_tenant(data)
    d = Daemon(data, "--idle-timeout", "300ms")
    s = d.sock()
    s.sendall(raw_request("GET", "/healthz"))
    assert read_response(s)[0] == 200
    s.settimeout(5)
    start = time.monotonic()
    assert s.recv(100) == b""  # closed with no answer (nothing was asked)
    assert 0.25 < time.monotonic() - start < 5
    assert d.stop() == 0


def test_idle_time_counts_from_the_last_answer(data):
    """Requests every 150 ms keep a connection with a 300 ms idle timeout
    open well past 300 ms; once they stop it closes after the idle time."""
    create_tenant(data)
    d = Daemon(data, "--idle-timeout", "300ms")
    s = d.sock()
    start = time.monotonic()
    for _ in range(8):
        s.sendall(raw_request("GET", "/healthz"))
        assert read_response(s)[0] == 200
        time.sleep(0.15)
    assert time.monotonic() - start > 1.0
    s.settimeout(5)
    last = time.monotonic()
    assert s.recv(100) == b""
    assert 0.1 < time.monotonic() - last < 5
    assert d.stop() == 0


def test_malformed_request_is_400_and_closed(data):
    create_tenant(data)
    d = Daemon(data)
    for junk in [b"HELLO\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"POST /server/v4 HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n"]:
        s = d.sock()
        s.sendall(junk)
        status, headers, body, _ = read_response(s)
        assert status == 400 and headers["connection"] == "close", junk
        assert json.loads(body)["error"] == "bad_request"
        assert wait_closed(s)
    assert d.stop() == 0


def test_stalled_client_does_not_block_others(data):
    t = create_tenant(data)
    d = Daemon(data, "--header-timeout", "5s", "--body-timeout", "5s")
    stalled = [d.sock() for _ in range(20)]
    for i, s in enumerate(stalled):
        s.sendall(b"POST /server/v4 HTTP/1.1\r\nContent-Length: 300\r\n\r\n{" if i % 2 else b"GE")
    start = time.monotonic()
    for i in range(20):
        status, _, answer = d.post("/server/v4", json.dumps(event("free-%d" % i)), t["write_key"])
        assert status == 200, answer
    assert time.monotonic() - start < 3
    for s in stalled:
        s.close()
    assert d.stop() == 0


def test_connection_limit(data):
    create_tenant(data)
    d = Daemon(data, "--max-connections", "4")
    held = [d.sock() for _ in range(4)]
    for s in held:  # make sure all four were accepted before the fifth
        s.sendall(raw_request("GET", "/healthz"))
        assert read_response(s)[0] == 200
    extra = d.sock()
    assert wait_closed(extra)
    held[0].close()
    time.sleep(0.2)
    s = d.sock()
    s.sendall(raw_request("GET", "/metrics"))
    status, _, body, _ = read_response(s)
    assert status == 200 and "tally_http_connections_refused_total 1\n" in body.decode()
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
