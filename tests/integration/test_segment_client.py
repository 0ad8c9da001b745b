"""A real Segment client against the real daemon: Segment's own Node
library, @segment/analytics-node (tests/js, installed from its lock file by
scripts/install-deps.sh with `npm ci`), with its `host` set to tally on
127.0.0.1, sends identify, track, page and screen calls; it batches them to
/v1/batch with the write key as the Basic auth user. Every call must arrive
processed with the right name, user and kind, and identify's traits must be
the user's attributes. A wrong write key makes the library report a
delivery error and stores nothing."""

import os
import shutil
import subprocess

from harness import Daemon, create_tenant, run

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "js")


def node_client(d, key, prefix):
    node = shutil.which("node")
    assert node, "node is not installed (scripts/install-deps.sh installs nodejs)"
    lib = os.path.join(JS, "node_modules", "@segment", "analytics-node")
    assert os.path.isdir(lib), \
        "tests/js/node_modules is missing: run scripts/install-deps.sh (npm ci in tests/js)"
    return subprocess.run([node, os.path.join(JS, "send.mjs"), "http://127.0.0.1:%d" % d.port,
                           key, prefix], capture_output=True, text=True, timeout=120)


def test_analytics_node_events_arrive_processed(data):
    t = create_tenant(data)
    d = Daemon(data)
    r = node_client(d, t["write_key"], "an")
    assert r.returncode == 0, r.stderr + r.stdout
    d.wait_processed()
    want = {
        "an-identify": ("profile", "identify", "an-user"),
        "an-track": ("track", "Order Completed", "an-user"),
        "an-page": ("track", "Pricing", "an-anon"),
        "an-screen": ("track", "Home", "an-user"),
    }
    for mid, (kind, name, user) in want.items():
        status, e = d.get_json("/v1/events/" + mid, t["admin_key"])
        assert status == 200 and e["status"] == "processed", (mid, e)
        ev = e["event"]
        assert (ev["kind"], ev["event_name"], ev["user_id"], ev["source"]) == \
            (kind, name, user, "track"), ev
        assert ev["context"]["library"]["name"] == "@segment/analytics-node", ev
    status, e = d.get_json("/v1/events/an-track", t["admin_key"])
    assert e["event"]["properties"] == {"order_id": "ORD-1", "revenue": 499, "currency": "INR"}
    status, u = d.get_json("/v1/users/an-user", t["admin_key"])
    assert status == 200 and u["attributes"] == {"email": "node@example.com", "plan": "gold"}, u
    assert d.stop() == 0


def test_analytics_node_wrong_key(data):
    create_tenant(data)
    d = Daemon(data)
    r = node_client(d, "tly_wk_not-a-key", "bad")
    assert r.returncode == 1 and "delivery error" in r.stderr, (r.returncode, r.stderr)
    assert d.metrics()["tally_log_durable_offset_bytes"] == 0
    assert d.stop() == 0


if __name__ == "__main__":
    run(globals())
