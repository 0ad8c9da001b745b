"""Shared by the bench scripts that create definitions (engine_campaigns.py,
segments_defs.py): the --url/--key/--count arguments, 127.0.0.1 only, and
POSTing each definition with the admin key, every answer required to be 201."""
import argparse
import http.client
import json
import sys
import time


def args(prog):
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--key", required=True, help="admin key")
    ap.add_argument("--count", type=int, required=True)
    a = ap.parse_args()
    host, _ = a.url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    if host != "127.0.0.1":
        sys.exit("%s: only 127.0.0.1 is allowed" % prog)
    return a


def post_all(prog, a, path, what, definitions):
    """POSTs each definition to path; returns the seconds taken, or exits 1
    naming the first one not answered 201."""
    host, port = a.url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    hdr = {"Authorization": "Bearer " + a.key, "Content-Type": "application/json"}
    t0 = time.monotonic()
    for i, d in enumerate(definitions):
        c.request("POST", path, body=json.dumps(d), headers=hdr)
        r = c.getresponse()
        body = r.read()
        if r.status != 201:
            print("%s: %s %d: HTTP %d: %s" % (prog, what, i, r.status, body[:300]),
                  file=sys.stderr)
            sys.exit(1)
    c.close()
    return round(time.monotonic() - t0, 2)
