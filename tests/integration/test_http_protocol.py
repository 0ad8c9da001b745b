"""HTTP/1.1 behaviour over raw sockets: keep-alive, pipelining (answers in
request order, including durable POSTs between instant GETs), chunked
request bodies, Expect: 100-continue, HTTP/1.0."""

import json
import socket

from harness import Daemon, create_tenant, dump, event, raw_request, read_response, run, wait_closed


def test_keep_alive_serves_many_requests(data):
    t = create_tenant(data)
    d = Daemon(data)
    s = d.sock()
    rest = b""
    for i in range(50):
        s.sendall(raw_request("POST", "/server/v4", event("ka-%d" % i),
                              {"X-API-KEY": t["write_key"]}))
        status, headers, body, rest = read_response(s, rest)
        assert status == 200 and "connection" not in headers, body
    assert d.metrics()["tally_http_connections_total"] == 2  # this one + the metrics request
    assert d.stop() == 0
    assert len(dump(data)) == 50


def test_pipelined_requests_are_answered_in_order(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"]}
    bad = event("p-bad")
    del bad["user_id"]
    reqs = [raw_request("GET", "/healthz"),
            raw_request("POST", "/server/v4", event("p-1"), key),
            raw_request("GET", "/readyz"),
            raw_request("POST", "/server/v4", bad, key),
            raw_request("POST", "/server/v4/batch", {"events": [event("p-2"), event("p-3")]}, key),
            raw_request("POST", "/server/v4", event("p-4"), key),
            raw_request("GET", "/nope")]
    s = d.sock()
    s.sendall(b"".join(reqs))  # all in one write
    got, rest, ids = [], b"", []
    for _ in reqs:
        status, headers, body, rest = read_response(s, rest)
        got.append((status, json.loads(body)))
        ids.append(headers["x-request-id"])
    assert [g[0] for g in got] == [200, 200, 200, 400, 200, 200, 404], got
    assert got[0][1] == {"status": "ok"} and got[2][1] == {"ready": True}
    assert got[3][1]["field"] == "user_id" and got[4][1]["accepted"] == 2
    assert ids == sorted(ids)  # request ids are issued in arrival order
    assert d.stop() == 0
    bodies = [json.loads(r["body"]) for r in dump(data)]
    assert [b.get("event_id") or [e["event_id"] for e in b["events"]] for b in bodies] == \
        ["p-1", ["p-2", "p-3"], "p-4"]


def test_pipelined_bytes_split_at_every_point(data):
    t = create_tenant(data)
    d = Daemon(data)
    stream = (raw_request("POST", "/server/v4", event("s-1"), {"X-API-KEY": t["write_key"]}) +
              raw_request("GET", "/healthz"))
    for cut in range(1, len(stream), 7):
        s = d.sock()
        s.sendall(stream[:cut])
        s.sendall(stream[cut:])
        st1, _, _, rest = read_response(s)
        st2, _, _, _ = read_response(s, rest)
        assert (st1, st2) == (200, 200), cut
        s.close()
    assert d.stop() == 0


def test_half_close_still_gets_every_answer(data):
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"]}
    s = d.sock()
    s.sendall(b"".join(raw_request("POST", "/server/v4", event("hc-%d" % i), key)
                       for i in range(3)))
    s.shutdown(socket.SHUT_WR)  # "that is all I will send"
    rest, statuses = b"", []
    for _ in range(3):
        status, _, _, rest = read_response(s, rest)
        statuses.append(status)
    assert statuses == [200, 200, 200]
    assert wait_closed(s)
    assert d.stop() == 0
    assert len(dump(data)) == 3


def test_deep_pipelining_does_not_grow_the_buffer(data):
    """Regression: bytes parsed while a handler held a request were never
    dropped from the connection's buffer, so a client that kept 4 requests
    in flight was disconnected after about 1 MB."""
    t = create_tenant(data)
    d = Daemon(data)
    key = {"X-API-KEY": t["write_key"]}
    s = d.sock(timeout=30)
    total, depth = 3000, 4
    reqs = [raw_request("POST", "/server/v4", event("deep-%d" % i, pad="x" * 200), key)
            for i in range(total)]
    assert sum(len(r) for r in reqs) > 1_200_000
    s.sendall(b"".join(reqs[:depth]))
    sent, answered, rest = depth, 0, b""
    while answered < total:
        status, _, _, rest = read_response(s, rest)
        assert status == 200, answered
        answered += 1
        if sent < total:
            s.sendall(reqs[sent])
            sent += 1
    assert d.stop() == 0
    assert len(dump(data)) == total


def test_chunked_body(data):
    t = create_tenant(data)
    d = Daemon(data)
    body = json.dumps(event("chunky")).encode()
    s = d.sock()
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + t["write_key"].encode() +
              b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    for i in range(0, len(body), 10):
        piece = body[i:i + 10]
        s.sendall(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
    s.sendall(b"0\r\n\r\n")
    status, _, answer, _ = read_response(s)
    assert status == 200, answer
    assert d.stop() == 0
    assert dump(data)[0]["body"] == body.decode()  # reassembled exactly


def test_expect_100_continue(data):
    t = create_tenant(data)
    d = Daemon(data)
    body = json.dumps(event("ask-first")).encode()
    s = d.sock()
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + t["write_key"].encode() +
              b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    status, _, _, rest = read_response(s)
    assert status == 100
    s.sendall(body)
    status, _, answer, _ = read_response(s, rest)
    assert status == 200, answer
    # Too large: the final answer comes instead of 100, and no body is needed.
    s = d.sock()
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
              b"Content-Length: 99999999\r\n\r\n")
    assert read_response(s)[0] == 413
    assert d.stop() == 0


def test_http_1_0(data):
    create_tenant(data)
    d = Daemon(data)
    s = d.sock()
    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    status, headers, _, _ = read_response(s)
    assert status == 200 and headers["connection"] == "close"
    assert wait_closed(s)
    s = d.sock()
    s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    status, headers, _, rest = read_response(s)
    assert status == 200 and headers["connection"] == "keep-alive"
    s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert read_response(s, rest)[0] == 200
    assert d.stop() == 0


def test_connection_close_is_honoured(data):
    create_tenant(data)
    d = Daemon(data)
    s = d.sock()
    s.sendall(raw_request("GET", "/healthz", headers={"Connection": "close"}))
    status, headers, _, _ = read_response(s)
    assert status == 200 and headers["connection"] == "close"
    assert wait_closed(s)
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
