"""Graceful shutdown: on SIGTERM tallyd stops accepting, answers the
requests already in flight (and any it is still receiving), flushes the
log and exits 0; /readyz turns 503 meanwhile."""

import json
import socket
import threading
import time

from harness import Daemon, create_tenant, dumped_event_ids, event, read_response, run


def test_in_flight_requests_are_answered(data):
    t = create_tenant(data)
    d = Daemon(data, "--shutdown-grace", "10s")
    key = t["write_key"].encode()
    # Five requests half sent: headers and part of the body.
    partial = []
    for i in range(5):
        body = json.dumps(event("inflight-%d" % i)).encode()
        s = d.sock()
        s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + key +
                  b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:20])
        partial.append((s, body[20:]))
    idle = d.sock()  # an idle keep-alive connection is simply closed
    time.sleep(0.2)
    d.terminate()
    time.sleep(0.3)
    # New connections are no longer accepted.
    try:
        extra = socket.create_connection(("127.0.0.1", d.port), timeout=2)
        extra.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        refused = extra.recv(100) == b""
    except OSError:
        refused = True
    assert refused
    assert idle.recv(100) == b""
    for s, rest in partial:
        s.sendall(rest)
    for s, _ in partial:
        status, headers, answer, _ = read_response(s)
        assert status == 200 and headers["connection"] == "close", answer
    assert d.stop() == 0
    assert sorted(dumped_event_ids(data)) == ["inflight-%d" % i for i in range(5)]
    assert 'msg="stopped"' in d.stderr()


def test_load_during_shutdown_loses_nothing_acknowledged(data):
    t = create_tenant(data)
    d = Daemon(data)
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            try:
                s = d.sock(timeout=5)
                eid = "c%d-%d" % (n, i)
                i += 1
                s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: %s\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (
                              t["write_key"].encode(), len(json.dumps(event(eid))),
                              json.dumps(event(eid)).encode()))
                status, _, _, _ = read_response(s)
                if status == 200:
                    with lock:
                        acked.append(eid)
                s.close()
            except OSError:
                if d.proc.poll() is not None:
                    return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    assert d.stop() == 0
    stop.set()
    for th in threads:
        th.join()
    assert len(acked) > 10
    stored = set(dumped_event_ids(data))
    assert not [e for e in acked if e not in stored]


def test_readyz_turns_503_while_draining(data):
    t = create_tenant(data)
    d = Daemon(data, "--shutdown-grace", "5s")
    s = d.sock()
    body = json.dumps(event("slow")).encode()
    s.sendall(b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + t["write_key"].encode() +
              b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    probe = d.sock()
    probe.sendall(b"GET /readyz HTTP/1.1\r\n")  # begun before the signal, finished after
    time.sleep(0.1)
    d.terminate()
    time.sleep(0.3)
    probe.sendall(b"Host: x\r\n\r\n")
    status, _, answer, _ = read_response(probe)
    assert status == 503 and json.loads(answer) == {"ready": False, "reason": "shutting down"}
    s.sendall(body)  # the draining daemon still takes the body it was promised
    assert read_response(s)[0] == 200
    assert d.stop() == 0
    assert dumped_event_ids(data) == ["slow"]


if __name__ == "__main__":
    run(globals())
