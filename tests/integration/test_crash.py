"""Crash safety: concurrent clients send events and remember every event_id
that got a 200; tallyd is killed with SIGKILL mid-load, restarted, and the
log must hold every acknowledged event_id (zero lost) and pass
`tallyd log verify`. Three kill/restart cycles on the same data directory,
singles and batches mixed."""

import json
import random
import threading
import time

from harness import Daemon, create_tenant, dumped_event_ids, event, raw_request, read_response, run, tallyd

CLIENTS = 8


def load(d, key, tag, acked, lock, stop):
    """One keep-alive client: singles and small batches until the daemon dies."""
    rng = random.Random(tag)
    i = 0
    try:
        s = d.sock(timeout=10)
        rest = b""
        while not stop.is_set():
            if rng.random() < 0.2:
                ids = ["%s-%d" % (tag, i + k) for k in range(5)]
                req = raw_request("POST", "/server/v4/batch",
                                  {"events": [event(e, user="u%d" % rng.randrange(50)) for e in ids]},
                                  {"X-API-KEY": key})
            else:
                ids = ["%s-%d" % (tag, i)]
                req = raw_request("POST", "/server/v4", event(ids[0], user="u%d" % rng.randrange(50)),
                                  {"X-API-KEY": key})
            i += len(ids)
            s.sendall(req)
            status, _, _, rest = read_response(s, rest)
            if status == 200:
                with lock:
                    acked.extend(ids)
    except (OSError, ConnectionError):
        pass  # the daemon was killed under us


def test_sigkill_loses_no_acknowledged_event(data):
    t = create_tenant(data)
    all_acked = []
    for cycle in range(3):
        d = Daemon(data)
        acked, lock, stop = [], threading.Lock(), threading.Event()
        threads = [threading.Thread(target=load, args=(d, t["write_key"], "c%d-t%d" % (cycle, n),
                                                       acked, lock, stop))
                   for n in range(CLIENTS)]
        for th in threads:
            th.start()
        time.sleep(1.0 + cycle * 0.37)
        with lock:
            before_kill = len(acked)
        d.kill()
        stop.set()
        for th in threads:
            th.join(10)
        assert before_kill > 50, "too little load to prove anything: %d" % before_kill
        all_acked += acked
        stored = dumped_event_ids(data)
        missing = set(all_acked) - set(stored)
        assert not missing, "acknowledged but lost after SIGKILL: %d, e.g. %s" % (
            len(missing), sorted(missing)[:5])
        # Every record that was stored is whole; nothing was stored twice.
        assert len(stored) == len(set(stored))
        verify = json.loads(tallyd("log", "verify", data=data).stdout)
        assert verify["ok"] is True, verify
    # The restarted daemon recovers and keeps appending after the kills.
    d = Daemon(data)
    status, _, _ = d.post("/server/v4", json.dumps(event("after-crashes")), t["write_key"])
    assert status == 200
    assert d.stop() == 0
    assert "after-crashes" in dumped_event_ids(data)
    assert len(all_acked) > 150


if __name__ == "__main__":
    run(globals())
