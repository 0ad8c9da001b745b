#!/usr/bin/env python3
"""Writes the seed corpora for the libFuzzer targets in tests/fuzz/.

Run it from anywhere: `python3 tests/fuzz/make_corpus.py`. It replaces the
files in tests/fuzz/corpus/<target>/ with the set below, so the committed
corpus is exactly what this script makes (standard library only, no
randomness). Each seed is small and named for what it exercises.

Input formats (see the comment at the top of each fuzz_*.c):
  fuzz_http1         byte 0 low 3 bits = k, k piece-size bytes, then the bytes
                     of the connection.
  fuzz_server_event  a request body.
  fuzz_server_scan   a request body (checked as a single event and as a batch).
  fuzz_timestamp     a timestamp string.
  fuzz_log_record    bytes read as a sequence of frames; the first 34 bytes
                     also seed a record that is encoded and decoded.
  fuzz_segment_adapter  byte 0 bits 0-2 = endpoint (0 /segment/v4, 1 /v1/batch,
                     2-6 /v1/track, identify, page, screen, alias), then the
                     body. Seeds: every body of tests/fixtures/segment.
  fuzz_moengage_adapter  byte 0 = receive time shift in days, then the body.
                     Seeds: every body of tests/fixtures/moengage.
  fuzz_webengage_adapter byte 0 = receive time shift in days, byte 1 = meta
                     length, the record metadata, then the body. Seeds: every
                     body of tests/fixtures/webengage with its metadata.
  fuzz_clevertap_adapter  byte 0 = receive time shift in days, then the body.
                     Seeds: every body of tests/fixtures/clevertap.
  fuzz_campaign      a campaign definition (the body of POST /v1/campaigns).
  fuzz_webhook_settings  a webhook settings document (PUT /v1/webhooks).
  fuzz_webhook_template  a body template (JSON).
  fuzz_retry_after   a Retry-After header value.
  fuzz_tzif          the bytes of a TZif file. Seeds: the zone files of
                     tests/fixtures/tzif (copies of tzdata's), and made-up
                     files for what they lack (version 1, footer forms,
                     broken counts).
  fuzz_log_recovery  byte 0 = shape (bit 0: valid records first, bits 1-2:
                     how many, bit 3: an earlier quarantine file exists, bits
                     4-7 all set: a ~1 MiB first record), then the segment
                     file bytes.
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# The body of the shared server-v4.json fixture, inlined so the corpus does
# not depend on a file outside the repository.
SERVER_EVENT = {
    "event_id": "7c1f9a52-4a0e-4d8e-9a57-0d2b6f1c3e11",
    "event_name": "order_placed",
    "user_id": "user-1042",
    "timestamp": "2026-03-14T09:26:53.589Z",
    "event_properties": {
        "order_id": "ORD-88213",
        "amount": 349.5,
        "currency": "INR",
        "items": 3,
        "city": "BLR",
    },
}


def compact(v):
    return json.dumps(v, separators=(",", ":")).encode()


# --- CRC-32C and the log record layout (src/log/record.h) -------------------


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value

RECORD_HEADER = 44


def record(body=b"", meta=b"", source=1, kind=1, tenant=1, received=1773480413589,
           request_id=bytes(range(16)), version=1, meta_len=None, length=None):
    """One encoded frame; meta_len/length override the true values."""
    rest = struct.pack("<BBBBIq16sHH", version, source, kind, 0, tenant, received,
                       request_id, len(meta) if meta_len is None else meta_len, 0)
    rest += meta + body
    n = len(rest) if length is None else length
    prefix = struct.pack("<I", n)
    crc = crc32c(rest, crc32c(prefix))
    return prefix + struct.pack("<I", crc) + rest


def flip(data, byte, bit=0):
    b = bytearray(data)
    b[byte] ^= 1 << bit
    return bytes(b)


# --- seeds per target -------------------------------------------------------


def http1_seeds():
    ev = compact(SERVER_EVENT)
    batch = compact({"events": [SERVER_EVENT, dict(SERVER_EVENT, event_id="e2")]})
    auth = b"Authorization: Bearer tly_live_4f2a9c0e7b1d\r\n"

    def post(path, body, extra=b"", version=b"1.1"):
        return (b"POST " + path + b" HTTP/" + version + b"\r\nHost: tally.local\r\n" + auth +
                b"Content-Type: application/json\r\nContent-Length: " +
                str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)

    def chunked(body, pieces, trailer=b""):
        out, i = b"", 0
        for n in pieces:
            part = body[i:i + n]
            i += n
            if part:
                out += b"%x\r\n" % len(part) + part + b"\r\n"
        if i < len(body):
            out += b"%x\r\n" % (len(body) - i) + body[i:] + b"\r\n"
        return out + b"0\r\n" + trailer + b"\r\n"

    get = b"GET /healthz HTTP/1.1\r\nHost: tally.local\r\n\r\n"
    chunk_req = (b"POST /server/v4 HTTP/1.1\r\nHost: tally.local\r\n" + auth +
                 b"Transfer-Encoding: chunked\r\n\r\n" + chunked(ev, [16, 100]))
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(70))
    big_chunked = (b"POST /server/v4/batch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   chunked(b"a" * 70000, [32768, 32768]))

    streams = {
        "get": get,
        "get-query": b"GET /api/v1/campaigns?tenant=3&limit=50&cursor=abc%20d HTTP/1.1\r\nHost: x\r\n"
                     b"Accept: */*\r\nUser-Agent: curl/8.5.0\r\n\r\n",
        "get-http10": b"GET /readyz HTTP/1.0\r\n\r\n",
        "get-http10-keepalive": b"GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get,
        "get-close": b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + get,
        "options-star": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "absolute-url": b"GET http://tally.local:8080/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "head": b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "delete": b"DELETE /api/v1/keys/12 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        "post-event": post(b"/server/v4", ev),
        "post-batch": post(b"/server/v4/batch", batch),
        "post-http10": post(b"/server/v4", ev, version=b"1.0"),
        "post-empty": post(b"/server/v4", b""),
        "post-webengage": post(b"/webengage/v4?eventType=purchase&licenseCode=~2b1c3d4e&secret=3f2a",
                               b'{"eventName":"purchase"}', b"x-request-id: 5f0c2e9a7b1d4c3e\r\n"),
        "chunked": chunk_req,
        "chunked-ext-trailer": (b"POST /server/v4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"5;name=val\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"),
        "chunked-upper-hex": (b"POST /server/v4 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"A\r\n0123456789\r\n0\r\n\r\n"),
        "pipelined-get-get": get + b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
        "pipelined-post-get": post(b"/server/v4", ev) + get,
        "pipelined-chunked-post": chunk_req + post(b"/server/v4", ev),
        "pipelined-three": get + post(b"/server/v4", b"{}") + get,
        "expect-continue": post(b"/server/v4", ev, b"Expect: 100-continue\r\n"),
        "expect-continue-empty": post(b"/server/v4", b"", b"Expect: 100-continue\r\n"),
        "expect-continue-chunked": (b"POST /server/v4 HTTP/1.1\r\nExpect: 100-Continue\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n" + chunked(ev, [50])),
        "expect-continue-pipelined": post(b"/server/v4", b"{}", b"Expect: 100-continue\r\n") + get,
        "expect-other": post(b"/server/v4", ev, b"Expect: 200-ok\r\n"),
        "body-too-large": b"POST /server/v4 HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" + b"{",
        "chunked-too-large": big_chunked,
        "url-too-long": b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\n\r\n",
        "url-at-limit": b"GET /" + b"a" * 1023 + b" HTTP/1.1\r\n\r\n",
        "headers-too-large": b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 4200 + b"\r\n\r\n",
        "headers-near-limit": b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 4050 + b"\r\n\r\n",
        "too-many-headers": b"GET / HTTP/1.1\r\n" + many + b"\r\n",
        "empty-header-value": b"GET / HTTP/1.1\r\nX-Empty:\r\nX-Space: \r\nHost: x\r\n\r\n",
        "cl-and-te": b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "two-cl": b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        "bad-cl": b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "bad-chunk-size": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: x\n\n",
        "obs-fold": b"GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n",
        "space-before-colon": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "nul-in-header": b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
        "bad-method": b"FETCH / HTTP/1.1\r\n\r\n",
        "bad-version": b"GET / HTTP/3.0\r\n\r\n",
        "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "upgrade": b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "connect": b"CONNECT tally.local:443 HTTP/1.1\r\nHost: tally.local:443\r\n\r\n",
        "cut-in-headers": b"POST /server/v4 HTTP/1.1\r\nContent-Length: 10\r\nHo",
        "cut-in-body": post(b"/server/v4", ev)[:-20],
        "leading-crlf": b"\r\n\r\n" + get,
    }
    seeds = {}
    for name, s in streams.items():
        seeds["whole-" + name] = b"\x00" + s
    # The same streams cut into pieces: one byte at a time, odd sizes, and a
    # cut right after the headers.
    for name in ["get", "post-event", "chunked", "pipelined-post-get", "expect-continue",
                 "expect-continue-pipelined", "chunked-ext-trailer", "cut-in-body"]:
        s = streams[name]
        seeds["bytes-" + name] = b"\x01\x01" + s
        seeds["split-" + name] = b"\x03\x05\x11\x40" + s
        head = s.find(b"\r\n\r\n") + 4
        if 0 < head < 256:
            seeds["headcut-" + name] = b"\x02" + bytes([head, 0]) + s
    return seeds


def server_event_seeds():
    ev = SERVER_EVENT
    seeds = {"fixture": compact(ev), "fixture-pretty": json.dumps(ev, indent=2).encode()}

    def variant(name, **changes):
        e = dict(ev)
        for k, v in changes.items():
            if v is KeyError:
                e.pop(k, None)
            else:
                e[k] = v
        seeds[name] = compact(e)

    wrong = {"number": 42, "null": None, "array": ["x"], "object": {"a": 1}, "bool": True,
             "empty": ""}
    for field in ["event_id", "event_name", "user_id"]:
        variant("missing-" + field, **{field: KeyError})
        for kind, v in wrong.items():
            variant(kind + "-" + field, **{field: v})
    variant("long-event_id", event_id="i" * 129)
    variant("max-event_id", event_id="i" * 128)
    variant("long-event_name", event_name="n" * 257)
    variant("long-user_id", user_id="u" * 257)
    variant("nul-event_id", event_id="\u0000abc")
    variant("unicode-user_id", user_id="\u00fcser-\u4e2d\U0001f600")
    variant("missing-timestamp", timestamp=KeyError)
    for name, ts in [("epoch-s", 1773480413), ("epoch-ms", 1773480413589),
                     ("epoch-frac", 1773480413.589), ("epoch-neg", -1), ("epoch-zero", 0),
                     ("epoch-huge", 1e300), ("str-epoch", "1773480413589"),
                     ("str-offset", "2026-03-14T14:56:53+05:30"), ("str-no-offset",
                                                                   "2026-03-14T09:26:53"),
                     ("str-bad-month", "2026-13-14T09:26:53Z"), ("str-empty", ""),
                     ("null", None), ("array", [1]), ("object", {}), ("bool", False)]:
        variant("timestamp-" + name, timestamp=ts)
    variant("missing-props", event_properties=KeyError)
    for kind, v in wrong.items():
        if kind != "object":
            variant(kind + "-props", event_properties=v)
    variant("empty-props", event_properties={})
    variant("nested-props", event_properties={"a": {"b": [1, 2, {"c": None}]}, "d": [[[[]]]]})

    seeds["batch-one"] = compact({"events": [ev]})
    seeds["batch-three"] = compact({"events": [ev, dict(ev, event_id="b"), dict(ev, event_id="c")]})
    seeds["batch-mixed"] = compact({"events": [ev, {"event_id": 1}, "x", None, []]})
    seeds["batch-empty"] = compact({"events": []})
    seeds["batch-500"] = compact({"events": [{}] * 500})
    seeds["batch-501"] = compact({"events": [{}] * 501})
    seeds["batch-not-array"] = compact({"events": {"0": ev}})
    seeds["batch-null"] = compact({"events": None})
    seeds["batch-missing"] = compact({"event": [ev]})
    seeds["root-array"] = compact([ev, ev])
    seeds["root-string"] = b'"hello"'
    seeds["root-number"] = b"12.5e3"
    seeds["root-null"] = b"null"
    seeds["empty"] = b""
    seeds["whitespace"] = b" \r\n\t"
    seeds["trailing-garbage"] = compact(ev) + b"x"
    seeds["trailing-second"] = compact(ev) + b" {}"
    seeds["trailing-whitespace"] = compact(ev) + b"\r\n  "
    seeds["bom"] = b"\xef\xbb\xbf" + compact(ev)
    seeds["truncated"] = compact(ev)[:60]
    seeds["duplicate-keys"] = b'{"event_id":"a","event_id":7,"event_name":"n","user_id":"u",' \
                              b'"timestamp":0,"event_properties":{}}'
    seeds["escapes"] = (b'{"event_id":"\\ud83d\\ude00\\n\\t\\"\\\\\\/","event_name":"\\u0041",'
                        b'"user_id":"\\u00e9\\b\\f\\r","timestamp":"2026-03-14T09:26:53Z",'
                        b'"event_properties":{}}')
    # What JSON.stringify sends for a string cut inside an emoji.
    seeds["lone-surrogates"] = (b'{"event_id":"e1","event_name":"n","user_id":"u\\ud83d",'
                                b'"timestamp":0,"event_properties":{"s":"\\udc00x"}}')
    seeds["invalid-utf8"] = b'{"event_id":"\xff\xfe","event_name":"\xc3\x28","user_id":"u",' \
                            b'"timestamp":1,"event_properties":{}}'
    seeds["deep-50"] = b'{"events":' + b"[" * 50 + b"]" * 50 + b"}"
    seeds["deep-64"] = b"[" * 64 + b"]" * 64
    seeds["deep-65"] = b"{\"a\":" * 65 + b"1" + b"}" * 65
    seeds["deep-1100"] = b"[" * 1100 + b"]" * 1100
    seeds["numbers"] = b'{"a":[0,-0,1e308,1e309,-1e-400,0.000001,123456789012345678901234567890]}'
    seeds["bad-literals"] = b'{"a":tru,"b":nul,"c":NaN,"d":Infinity}'
    seeds["bad-number"] = b'{"a":01,"b":1.,"c":.5,"d":-}'
    seeds["unterminated-string"] = b'{"event_id":"abc'
    seeds["control-in-string"] = b'{"event_id":"a\x01b"}'
    seeds["embedded-nul"] = compact(ev)[:20] + b"\x00" + compact(ev)[20:]
    return seeds


def server_scan_seeds():
    """The server_event seeds, plus the cases where a scanner could part
    ways with cJSON: escaped and duplicate keys, decoded lengths, escaped
    and long timestamps, batches with mixed and duplicate members."""
    seeds = dict(server_event_seeds())
    ev = SERVER_EVENT
    body = compact(ev)

    def raw(name, text):
        seeds[name] = text.encode() if isinstance(text, str) else text

    raw("escaped-keys", body.replace(b'"event_id"', b'"\\u0065vent_id"')
        .replace(b'"timestamp"', b'"time\\u0073tamp"'))
    raw("escaped-key-other", body.replace(b'"user_id"', b'"user\\u005fid2"'))
    raw("duplicate-first-bad", b'{"event_id":7,"event_id":"a","event_name":"n","user_id":"u",'
                               b'"timestamp":0,"event_properties":{}}')
    raw("duplicate-props", body[:-1] + b',"event_properties":5}')
    raw("duplicate-timestamp", body[:-1] + b',"timestamp":"bad"}')
    raw("escaped-id-128", compact(dict(ev, event_id="\u00e9" * 64)).replace(b"\\\\", b"\\"))
    raw("escaped-id-130", compact(dict(ev, event_id="\u00e9" * 65)).replace(b"\\\\", b"\\"))
    raw("emoji-user", compact(dict(ev, user_id="\U0001f600" * 64)))
    raw("escaped-user-surrogates", body.replace(b'"user-1042"', b'"\\ud83d\\ude00' * 1 + b'x"'))
    raw("escaped-timestamp", body.replace(b'"2026-03-14T09:26:53.589Z"',
                                          b'"\\u0032026-03-14T09:26:53.589\\u005a"'))
    raw("escaped-timestamp-slash", body.replace(b'"2026-03-14T09:26:53.589Z"',
                                                b'"2026-03-14T09:26:53\\/589Z"'))
    raw("long-epoch-fraction", body.replace(b'"2026-03-14T09:26:53.589Z"',
                                            b'"1773480413.' + b"5" * 300 + b'"'))
    raw("long-escaped-epoch", body.replace(b'"2026-03-14T09:26:53.589Z"',
                                           b'"\\u0031773480413.' + b"5" * 300 + b'x"'))
    raw("long-number-ts", body.replace(b'"2026-03-14T09:26:53.589Z"',
                                       b"1773480413." + b"0" * 300 + b"9e3"))
    raw("number-ts-exp", body.replace(b'"2026-03-14T09:26:53.589Z"', b"1.773480413589E12"))
    raw("number-ts-neg-zero", body.replace(b'"2026-03-14T09:26:53.589Z"', b"-0.0"))
    raw("props-deep-63", body.replace(b'"event_properties":{', b'"event_properties":' + b"[" * 62 + b"{")
        [:-1] + b"}" + b"]" * 62 + b"}")
    raw("props-deep-64", body.replace(b'"event_properties":{', b'"event_properties":' + b"[" * 63 + b"{")
        [:-1] + b"}" + b"]" * 63 + b"}")
    raw("bad-after-errors", b'{"event_id":7,"x":[1,2,}')
    raw("batch-escaped-events", b'{"\\u0065vents":[' + body + b"]}")
    raw("batch-duplicate-events", b'{"events":[' + body + b',{}],"events":5}')
    raw("batch-events-later", b'{"a":{"events":[]},"events":[' + body + b"]}")
    raw("batch-bad-tail", b'{"events":[' + body + b',{"event_id":1}],"x":tru}')
    raw("batch-502-mixed", b'{"events":[' + b",".join([body] * 3 + [b"1"] * 499) + b"]}")
    raw("batch-items-all-kinds", b'{"events":[' + body + b',"s",1,true,null,[],{},' + body + b"]}")
    return seeds


def timestamp_seeds():
    accepted = [
        "2026-03-14T09:26:53.589Z", "2026-03-14T09:26:53Z", "2026-03-14T09:26Z",
        "2026-03-14 09:26:53Z", "2026-03-14t09:26:53z", "2026-03-14T14:56:53+05:30",
        "2026-03-14T14:56:53+0530", "2026-03-14T14:56:53+05", "2026-03-14T01:26:53-08:00",
        "2026-03-14T09:26:53.5Z", "2026-03-14T09:26:53.58Z", "2026-03-14T09:26:53.589123Z",
        "2026-03-14T09:26:53.589123456Z", "2026-03-14T09:26:53,589Z", "2024-02-29T12:00:00Z",
        "2000-02-29T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T05:30:00+05:30",
        "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999999999Z", "2026-12-31T23:59:59-23:59",
        "1700000000", "1700000000123", "1700000000.5", "1700000000.123", "1.001", "0", "0.5",
        ".5", "99999999999", "99999999999.999", "100000000000", "253402300799", "253402300799999",
        "253402300799.999",
    ]
    rejected = [
        "", "2026-03-14T09:26:53", "2026-03-14", "2026-03-14T", "2026-13-14T09:26:53Z",
        "2026-00-14T09:26:53Z", "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-03-00T00:00:00Z",
        "2026-03-14T24:00:00Z", "2026-03-14T23:60:00Z", "2026-03-14T23:59:60Z",
        "2026-03-14T09:26:53+24:00", "2026-03-14T09:26:53+05:60", "2026-03-14T09:26:53+5",
        "2026-03-14T09:26:53+05:3", "2026-03-14T09:26:53.1234567890Z", "2026-03-14T09:26:53.Z",
        "2026-03-14T09:26:53Zjunk", "2026-03-14X09:26:53Z", "2026-3-14T09:26:53Z",
        "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01", "9999-12-31T23:59:59.999-00:01",
        "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "-1", "1e9", "NaN", "inf", "1.",
        " 1700000000", "1700000000 ", "0x10", "+1700000000", "253402300800000", "253402300800",
        "12345678901234567", "99999999999999999999", "2026-03-14T09:26:53.589+", "2026-03-14T9:26Z",
        "2026-03-14T09:26:5Z", "2026-03-14T09:2", "2026-", "abcd-",
    ]
    seeds = {}
    for i, s in enumerate(accepted):
        seeds["ok-%02d" % i] = s.encode()
    for i, s in enumerate(rejected):
        seeds["bad-%02d" % i] = s.encode()
    return seeds


def log_record_seeds():
    ev = compact(SERVER_EVENT)
    batch = compact({"events": [SERVER_EVENT]})
    r1 = record(ev)
    r2 = record(batch, kind=2, tenant=9, meta=b'{"eventType":"purchase"}', source=5)
    r3 = record(b"", received=0, request_id=b"\xff" * 16)
    seeds = {
        "single": r1, "batch-meta": r2, "empty-body": r3,
        "meta-only": record(b"", meta=b'{"q":"1"}'),
        "all-sources": b"".join(record(b"{}", source=s) for s in range(1, 8)),
        "three": r1 + r2 + r3,
        "max-tenant": record(ev, tenant=0xFFFFFFFF, received=-1),
        "tail-garbage": r1 + b"\x00" * 9,
        "bad-version": record(ev, version=2),
        "meta-too-long": record(b"abc", meta_len=200),
        "len-too-small": struct.pack("<II", 35, 0) + b"\x00" * 40,
        "len-too-big": struct.pack("<II", (64 << 20) + 1, 0) + b"\x00" * 40,
        "len-claims-more": record(ev, length=len(ev) + 36 + 100),
        "zeros": b"\x00" * 64,
        "ones": b"\xff" * 64,
        "short": r1[:7],
    }
    for cut in [8, 12, 44, 45, len(r1) - 1]:
        seeds["torn-%d" % cut] = r1 + r2[:cut]
    for i, (byte, bit) in enumerate([(0, 0), (1, 3), (4, 0), (8, 1), (9, 2), (12, 5), (20, 7),
                                     (40, 0), (41, 7), (44, 0), (len(r1) - 1, 6)]):
        seeds["flip-%02d-byte%d" % (i, byte)] = flip(r1, byte, bit) + r2
    # Inputs shaped for the encode half: header fields then meta length.
    seeds["encode-plain"] = bytes(range(30)) + b"\x00\x00\x05\x00" + b'{"a":1}{"x":2}'
    seeds["encode-big-meta"] = bytes(30) + b"\x10\x00\xff\xff" + b"m" * 300
    return seeds


def log_recovery_seeds():
    ev = compact(SERVER_EVENT)
    r1 = record(ev)
    r2 = record(compact({"events": [SERVER_EVENT] * 3}), kind=2, tenant=4)
    r3 = record(b"{}", meta=b'{"k":"v"}', source=5)
    good = r1 + r2 + r3
    raw = {
        "empty": b"",
        "one": r1,
        "three": good,
        "torn-prefix": good + r1[:6],
        "torn-header": good + r1[:30],
        "torn-body": good + r1[:-1],
        "corrupt-crc": r1 + flip(r2, 5) + r3,
        "corrupt-len": r1 + flip(r2, 2, 7),
        "corrupt-version": r1 + record(ev, version=0),
        "corrupt-meta-len": r1 + record(b"x", meta_len=9),
        "len-too-big": r1 + struct.pack("<II", 0xFFFFFFF0, 0) + b"\x00" * 40,
        "claims-megabytes": r1 + struct.pack("<II", 3 << 20, 0) + b"\x00" * 100,
        "zeros-after": good + b"\x00" * 4096,
        "garbage": bytes((i * 37 + 11) % 256 for i in range(300)),
        "zeros": b"\x00" * 100,
    }
    seeds = {}
    for name, data in raw.items():
        seeds["raw-" + name] = b"\x00" + data
    for shape in (0x01, 0x03, 0x07):
        for name in ["empty", "one", "torn-body", "corrupt-crc", "zeros-after", "garbage"]:
            seeds["pre%d-%s" % ((shape >> 1) + 1, name)] = bytes([shape]) + raw[name]
    for name in ["empty", "one", "torn-header", "corrupt-len"]:
        seeds["big-" + name] = b"\xf1" + raw[name]
    # An earlier recovery's quarantine file already at the cut offset.
    for name in ["three", "torn-body", "corrupt-crc"]:
        seeds["earlier-" + name] = b"\x08" + raw[name]
        seeds["earlier-pre1-" + name] = b"\x09" + raw[name]
    return seeds


def server_adapter_seeds():
    """Byte 0: bit 0 = batch record, bits 1-7 = receive-time shift in days."""
    events = server_event_seeds()
    seeds = {}
    for name, body in events.items():
        seeds["single-" + name] = b"\x00" + body
    good = [json.loads(v) for k, v in sorted(events.items()) if k.startswith("fixture")]
    mixed = [json.loads(v) for k, v in sorted(events.items())
             if k.startswith(("missing-", "number-", "timestamp-", "long-"))][:40]
    seeds["batch-good"] = b"\x01" + compact({"events": good * 3})
    seeds["batch-mixed"] = b"\x01" + compact({"events": good + mixed})
    seeds["batch-late-receive"] = b"\xff" + compact({"events": good})
    seeds["batch-not-object"] = b"\x01" + b"[1,2,3]"
    seeds["batch-empty"] = b"\x01" + compact({"events": []})
    seeds["batch-bad-json"] = b"\x01" + b'{"events":[{"event_id":'
    return seeds


SEGMENT_FIXTURES = os.path.join(HERE, "..", "fixtures", "segment")
SEGMENT_MODES = {"/segment/v4": 0, "/v1/batch": 1, "/v1/track": 2, "/v1/identify": 3,
                 "/v1/page": 4, "/v1/screen": 5, "/v1/alias": 6}


def segment_adapter_seeds():
    seeds = {}
    for name in sorted(os.listdir(SEGMENT_FIXTURES)):
        if not name.endswith(".expected.json"):
            continue
        base = name[:-len(".expected.json")]
        with open(os.path.join(SEGMENT_FIXTURES, name)) as f:
            mode = SEGMENT_MODES[json.load(f)["endpoint"]]
        with open(os.path.join(SEGMENT_FIXTURES, base + ".json"), "rb") as f:
            body = f.read()
        seeds["fixture-" + base] = bytes([mode]) + body
    seeds["write-key-in-batch"] = b"\x01" + compact(
        {"writeKey": "k", "batch": [{"type": "track", "event": "E", "userId": "u",
                                     "messageId": "m"}]})
    seeds["group-nested-traits"] = b"\x00" + compact(
        {"type": "group", "groupId": "g", "userId": "u", "messageId": "g1",
         "traits": {"groups": {"a": 1}, "n": {"deep": [1, {"x": None}]}}})
    seeds["empty-array"] = b"\x00[]"
    seeds["not-json"] = b"\x02{\"event\":"
    return seeds


MOENGAGE_FIXTURES = os.path.join(HERE, "..", "fixtures", "moengage")


def moengage_adapter_seeds():
    seeds = {}
    for name in sorted(os.listdir(MOENGAGE_FIXTURES)):
        if not name.endswith(".expected.json"):
            continue
        base = name[:-len(".expected.json")]
        with open(os.path.join(MOENGAGE_FIXTURES, base + ".json"), "rb") as f:
            seeds["fixture-" + base] = b"\x00" + f.read()
    ev = {"event_name": "E", "event_uuid": "m", "event_time": 1773480413, "uid": "u"}
    seeds["too-many-events"] = b"\x00" + compact({"events": [ev] * 501})
    seeds["events-not-array"] = b"\x00" + compact({"events": {"0": ev}})
    seeds["repeated-events"] = b"\x00" + b'{"events":[1],"events":[2,3]}'
    seeds["attrs-repeat-key"] = b"\x00" + b'{"events":[{"event_name":"E","event_uuid":"r",' \
        b'"event_time":"2026-03-14T14:56:53+0530","user_attributes":' \
        b'{"moengage_user_id":"x","a":1,"a":[2]}}]}'
    seeds["not-json"] = b"\x00{\"events\":["
    return seeds


WEBENGAGE_FIXTURES = os.path.join(HERE, "..", "fixtures", "webengage")


def webengage_adapter_seeds():
    seeds = {}
    for name in sorted(os.listdir(WEBENGAGE_FIXTURES)):
        if not name.endswith(".expected.json"):
            continue
        base = name[:-len(".expected.json")]
        with open(os.path.join(WEBENGAGE_FIXTURES, name), "rb") as f:
            meta = compact(json.loads(f.read())["meta"])
        with open(os.path.join(WEBENGAGE_FIXTURES, base + ".json"), "rb") as f:
            seeds["fixture-" + base] = b"\x00" + bytes([len(meta)]) + meta + f.read()
    seeds["no-meta"] = b"\x00\x00" + b'{"user_id":"u","event_name":"E"}'
    seeds["meta-not-object"] = b"\x00\x03[1]" + b'{"user_id":"u"}'
    seeds["body-array"] = b"\x00\x00[{}]"
    seeds["not-json"] = b"\x00\x00{\"event_data\":"
    return seeds


CLEVERTAP_FIXTURES = os.path.join(HERE, "..", "fixtures", "clevertap")


def clevertap_adapter_seeds():
    seeds = {}
    for name in sorted(os.listdir(CLEVERTAP_FIXTURES)):
        if not name.endswith(".expected.json"):
            continue
        base = name[:-len(".expected.json")]
        with open(os.path.join(CLEVERTAP_FIXTURES, base + ".json"), "rb") as f:
            seeds["fixture-" + base] = b"\x00" + f.read()
    p = {"identity": "u", "objectId": "o", "event_properties": {"d": "$D_1773480413"}}
    seeds["too-many-profiles"] = b"\x00" + compact({"targetId": 1, "profiles": [p] * 1001})
    seeds["profiles-not-array"] = b"\x00" + compact({"profiles": "x"})
    seeds["repeated-profiles"] = b"\x00" + b'{"profiles":[1],"Profiles":[2,3]}'
    seeds["bad-dates"] = b"\x00" + b'{"profiles":{"identity":"u","profileData":' \
        b'{"a":"$D_","b":"$D_99999999999999","c":"$D_-1","d":{"e":["$D_0"]}}}}'
    seeds["liquid-quote"] = b"\x00" + b'{"profiles":[{"identity":"O"Brien"}]}'
    return seeds

CAMPAIGN = {
    "id": "orders-week", "name": "3 orders this week", "status": "active",
    "timezone": "Asia/Kolkata", "starts_at": "2026-01-01T00:00:00Z",
    "ends_at": "2027-01-01T00:00:00Z", "window": "week", "complete_when": "all",
    "max_completions": 0, "enrollment": "auto", "segment": None,
    "activities": [
        {"id": "orders", "event": "order_placed",
         "where": [{"path": "amount", "op": "gte", "value": 100}],
         "measure": "count", "target": 3},
        {"id": "spend", "event": "order_placed", "measure": "sum", "property": "amount",
         "target": 1000},
    ],
    "reward": {"type": "points", "name": "100 coins", "amount": 100},
}


def campaign_seeds():
    """Definitions: the issue's example, one of every op, measure and field,
    and one breaking each rule (see tests/unit/engine/test_campaign.c)."""
    act = {"id": "a", "event": "e", "measure": "count", "target": 1}
    minimal = {"id": "c1", "name": "N", "activities": [act]}
    seeds = {"ok-issue-example": compact(CAMPAIGN), "ok-minimal": compact(minimal)}
    ops = [("eq", {"k": [1, 2.5, "x"], "a": None}), ("ne", "x"), ("gt", 1), ("gte", 1.5),
           ("lt", -1), ("lte", 0), ("in", [1, "1", True, None, {}]), ("nin", []),
           ("exists", True), ("exists", False), ("contains", "pi")]
    where = [{"path": "order.item.%d" % i, "op": op, "value": v}
             for i, (op, v) in enumerate(ops)]
    seeds["ok-every-op"] = compact(dict(minimal, activities=[
        {"id": "a", "event": "e", "where": where[:8], "measure": "count", "target": 1},
        {"id": "b", "event": "e", "where": where[8:], "measure": "count", "target": 1}]))
    seeds["ok-every-measure"] = compact({
        "id": "m", "name": "measures", "status": "paused", "timezone": "Europe/Berlin",
        "starts_at": "2026-03-01T10:00:00+05:30", "ends_at": None, "window": "campaign",
        "complete_when": "any", "max_completions": 5, "enrollment": "accept",
        "segment": "vip", "count_before_entry": True,
        "activities": [
            {"id": "n", "event": "order", "measure": "count", "target": 2},
            {"id": "s", "event": "order", "measure": "sum", "property": "a.b", "target": 0.5},
            {"id": "d", "event": "order", "measure": "distinct", "property": "shop",
             "target": 3},
            {"id": "k", "event": "open", "measure": "streak", "period": "week", "target": 4},
        ],
        "reward": {"type": "coupon", "code": "X1", "amount": 2.5}})
    # A document the conditions hold on when it is also the event.
    seeds["ok-self-matching"] = compact(dict(minimal, activities=[
        {"id": "a", "event": "e", "measure": "count", "target": 1,
         "where": [{"path": "id", "op": "eq", "value": "c1"},
                   {"path": "name", "op": "in", "value": ["N", 1]},
                   {"path": "segment", "op": "exists", "value": False}]}]))
    bad = {
        "not-object": [],
        "unknown-field": dict(minimal, colour="red"),
        "webhook": dict(minimal, webhook={"url": "x"}),
        "id-upper": dict(minimal, id="Orders"),
        "name-missing": {"id": "c1", "activities": [act]},
        "status": dict(minimal, status="live"),
        "timezone-unknown": dict(minimal, timezone="Mars/Olympus"),
        "timezone-path": dict(minimal, timezone="../etc/passwd"),
        "starts-epoch": dict(minimal, starts_at="1767225600"),
        "bounds-reversed": dict(minimal, starts_at="2026-02-01T00:00:00Z",
                                ends_at="2026-01-01T00:00:00Z"),
        "max-completions": dict(minimal, max_completions=-1),
        "segment": dict(minimal, segment="VIP users"),
        "activities-empty": dict(minimal, activities=[]),
        "activities-33": dict(minimal, activities=[dict(act, id="a%d" % i) for i in range(33)]),
        "activity-id-twice": dict(minimal, activities=[act, act]),
        "property-on-count": dict(minimal, activities=[dict(act, property="x")]),
        "sum-without-property": dict(minimal, activities=[dict(act, measure="sum")]),
        "target-fraction": dict(minimal, activities=[dict(act, target=2.5)]),
        "streak-in-week": dict(minimal, window="week",
                               activities=[dict(act, measure="streak")]),
        "period-month": dict(minimal, activities=[dict(act, measure="streak", period="month")]),
        "op-unknown": dict(minimal, activities=[dict(act, where=[
            {"path": "a", "op": "like", "value": 1}])]),
        "gt-string": dict(minimal, activities=[dict(act, where=[
            {"path": "a", "op": "gt", "value": "5"}])]),
        "path-9-deep": dict(minimal, activities=[dict(act, where=[
            {"path": "a.b.c.d.e.f.g.h.i", "op": "exists", "value": True}])]),
        "path-empty-segment": dict(minimal, activities=[dict(act, where=[
            {"path": "a..b", "op": "exists", "value": True}])]),
        "in-257": dict(minimal, activities=[dict(act, where=[
            {"path": "a", "op": "in", "value": list(range(257))}])]),
        "reward-no-type": dict(minimal, reward={"name": "x"}),
        "webhook-empty": dict(minimal, webhook={}),
        "webhook-bad-url": dict(minimal, webhook={"endpoints": [
            {"url": "ftp://x", "events": ["reward_issued"]}]}),
    }
    for name, doc in bad.items():
        seeds["bad-" + name] = compact(doc)
    seeds["bad-truncated"] = compact(CAMPAIGN)[:-7]
    seeds["bad-repeated-field"] = b'{"id":"c1","id":"c2","name":"N","activities":[]}'
    seeds["bad-infinite"] = b'{"id":"c1","name":"N","activities":[{"id":"a","event":"e",' \
        b'"where":[{"path":"a","op":"eq","value":1e999}],"measure":"count","target":1}]}'
    seeds["bad-not-utf8"] = b'{"id":"c1","name":"\xff","activities":[]}'
    seeds["bad-too-big"] = compact(minimal)[:-1] + b" " * (64 * 1024) + b"}"
    seeds["ok-webhook"] = compact(dict(minimal, webhook={"endpoints": [
        {"id": "crm", "url": "https://crm.example/h", "secret": "k",
         "events": ["reward_issued", "campaign_completed"],
         "template": {"u": "$userId", "o": "$details.eventId"}}]}))
    seeds["value-keys"] = b'[1,1.0,-0,1e2,0.30000000000000004,"1",{"b":1,"a":[null,true]}]'
    return seeds


TZIF_FIXTURES = os.path.join(HERE, "..", "fixtures", "tzif")


def tzif(version, times=(), types=((0, 0, 0),), chars=b"UTC\0", footer=b"", leaps=()):
    """A TZif file: `times` as (instant, type index), `types` as (utoff,
    isdst, abbreviation index), `leaps` as (instant, correction); version 0
    has only the 32-bit block."""
    def block(tsize):
        # The 32-bit block holds the instants that fit in 32 bits.
        ts = [x for x in times if tsize == 8 or -(1 << 31) <= x[0] < (1 << 31)]
        head = b"TZif" + version + b"\0" * 15 + struct.pack(
            ">6I", 0, 0, len(leaps), len(ts), len(types), len(chars))
        fmt = ">q" if tsize == 8 else ">i"
        body = b"".join(struct.pack(fmt, t) for t, _ in ts)
        body += bytes(i for _, i in ts)
        body += b"".join(struct.pack(">iBB", *ty) for ty in types)
        body += chars
        body += b"".join(struct.pack(fmt + "i", t, c) for t, c in leaps)
        return head + body
    if version == b"\0":
        return block(4)
    return block(4) + block(8) + b"\n" + footer + b"\n"


def tzif_seeds():
    seeds = {}
    for name in sorted(os.listdir(TZIF_FIXTURES)):
        with open(os.path.join(TZIF_FIXTURES, name), "rb") as f:
            seeds["zone-" + name] = f.read()
    two = ((3600, 0, 0), (7200, 1, 4))
    chars = b"CET\0CEST\0"
    changes = ((1711846800, 1), (1729990800, 0))
    seeds["v1-no-footer"] = tzif(b"\0", changes, two, chars)
    seeds["v2-empty-footer"] = tzif(b"2", changes, two, chars)
    seeds["v3-negative-hours"] = tzif(b"3", changes, two, chars,
                                      b"<-02>2<-01>,M3.5.0/-1,M10.5.0/0")
    seeds["v3-over-24-hours"] = tzif(b"3", changes, two, chars, b"AAA0BBB,M3.1.0/50,J300/167")
    seeds["julian-rules"] = tzif(b"2", changes, two, chars, b"AAA0BBB,J60/0,59/-1:30")
    seeds["dst-all-year"] = tzif(b"3", (), two, chars, b"EST5EDT,0/0,J365/25")
    seeds["default-dst-rule"] = tzif(b"2", (), two, chars, b"EST5EDT")
    seeds["quoted-names"] = tzif(b"2", (), two, chars, b"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45")
    seeds["v4"] = tzif(b"4", changes, two, chars, b"CET-1CEST,M3.5.0,M10.5.0/3")
    seeds["offset-out-of-range"] = tzif(b"2", (), ((93600, 0, 0),), chars, b"")
    seeds["times-descending"] = tzif(b"2", changes[::-1], two, chars, b"")
    seeds["leap-seconds"] = tzif(b"2", changes, two, chars, b"", ((78796800, 1),))
    seeds["far-times"] = tzif(b"2", ((-(1 << 52), 1), (1 << 52, 0)), two, chars,
                              b"CET-1CEST,M3.5.0,M10.5.0/3")
    seeds["too-far-times"] = tzif(b"2", ((-(1 << 59), 1), (1 << 59, 0)), two, chars, b"")
    seeds["truncated"] = seeds["zone-Europe_Berlin"][:1000]
    seeds["no-footer-newline"] = seeds["zone-Europe_Berlin"][:-1]
    return seeds


def source_settings_seeds():
    """fuzz_source_settings: a source byte (1 + b % 6), the PUT body, and
    optionally NUL + an item the mapping is applied to."""
    server, segment, moengage, clevertap, webengage, track = range(0, 6)
    item = compact({"userId": "u", "traits": {"email": "a@x.io", "a/b": 1, "m~n": [0, "x"]},
                    "properties": {"when": 1773478800, "d": {}}, "t": "2026-03-14T09:00:00Z"})
    docs = [
        (server, {}),
        (server, {"mapping": {"user_id": "/a"}}),
        (segment, {"shared_secret": "abc123"}),
        (segment, {"shared_secret": None, "mapping": {"user_id": "/traits/email",
                                                      "timestamp": "/t"}}),
        (segment, {"mapping": {"user_id": "/traits/a~1b", "event_id": "/traits/m~0n/1",
                               "properties": "/properties/d", "event_name": "/x"}}),
        (segment, {"mapping": {"user_id": "/bad~2"}}),
        (moengage, {"basic_auth": [{"username": "moe", "password": "pw"},
                                   {"username": "moe2", "password": "pw2"}],
                    "event_name_field": "event_code"}),
        (moengage, {"event_name_field": "event_name", "mapping": {"timestamp": "/properties/when"}}),
        (clevertap, {"target_names": {"password": "a target named like a secret"}}),
        (clevertap, {"target_names": {"1700": "Cart Abandoned", "1800": "Churn"},
                     "basic_auth": [{"username": "ct", "password": "p"}]}),
        (webengage, {"license_code": "~2024c5a1", "secret_key": "we-secret-key-7f3a",
                     "mapping": {"user_id": "/event_data/uid"}}),
        (webengage, {"source": "webengage", "license_code": "x", "secret_set": True,
                     "updated_at": None}),
        (track, {"basic_auth": [{"username": "t", "password_set": True}]}),
        (track, {"basic_auth": [{"username": "t", "password": "p"}], "mapping": {}}),
    ]
    seeds = {}
    for i, (src, doc) in enumerate(docs):
        body = bytes([src + 0]) + json.dumps(doc).encode()
        seeds["doc-%02d" % i] = body
        seeds["doc-%02d-item" % i] = body + b"\0" + item
    seeds["pointer-00"] = bytes([segment]) + b"/traits/a~1b\0" + item
    seeds["pointer-01"] = bytes([segment]) + b"/traits/m~0n/1\0" + item
    seeds["bad-00"] = bytes([segment]) + b"{\"mapping\":"
    seeds["bad-01"] = bytes([moengage]) + b"[]"
    return seeds


def webhook_settings_seeds():
    """Accepted documents of every shape, and one breaking each rule."""
    ep = {"id": "crm", "url": "https://crm.example.com/hook", "secret": "s3cret",
          "events": ["reward_issued", "campaign_completed"]}
    docs = {
        "empty": {"endpoints": []},
        "one": {"endpoints": [ep]},
        "whsec": {"endpoints": [dict(ep, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]},
        "template": {"endpoints": [dict(ep, template={"u": "$userId", "o": "$details.orderId",
                                                      "l": ["$$x", 1, None]})]},
        "ipv6-port": {"endpoints": [{"url": "http://[::1]:8080/x?y=1#z",
                                     "events": ["segment_entered", "segment_exited",
                                                "activity_completed"]}]},
        "two": {"endpoints": [ep, dict(ep, id="b", url="http://b.example")]},
        "bad-scheme": {"endpoints": [dict(ep, url="ftp://x")]},
        "bad-userinfo": {"endpoints": [dict(ep, url="https://u:p@x")]},
        "bad-port": {"endpoints": [dict(ep, url="https://x:70000/")]},
        "bad-kind": {"endpoints": [dict(ep, events=["paid"])]},
        "bad-no-events": {"endpoints": [dict(ep, events=[])]},
        "bad-id-twice": {"endpoints": [ep, ep]},
        "bad-template-ref": {"endpoints": [dict(ep, template={"a": "$a..b"})]},
        "bad-whsec": {"endpoints": [dict(ep, secret="whsec_***")]},
        "bad-unknown": {"endpoints": [dict(ep, colour=1)]},
        "bad-root": {"hooks": []},
    }
    seeds = {k: json.dumps(v).encode() for k, v in docs.items()}
    seeds["bad-json"] = b'{"endpoints":[{"url":'
    seeds["bad-utf8"] = b'{"endpoints":[{"url":"https://\xff"}]}'
    return seeds


def webhook_template_seeds():
    return {
        "object": b'{"user":"$userId","order":"$details.orderId","fixed":1}',
        "array": b'["$userId",["$details.n"],{"k":"$$lit"}]',
        "plain": b'{"a":[1,2.5,true,null,"x"]}',
        "deep-path": b'{"a":"$a.b.c.d.e.f.g.h"}',
        "bad-empty-ref": b'{"a":"$"}',
        "bad-dots": b'{"a":"$a..b"}',
        "bad-too-deep": b'{"a":"$a.b.c.d.e.f.g.h.i"}',
        "string": b'"$userId"',
    }


def retry_after_seeds():
    return {
        "seconds": b"120",
        "zero": b"0",
        "spaces": b" 30 ",
        "imf-fixdate": b"Sun, 06 Nov 1994 08:49:37 GMT",
        "future": b"Fri, 31 Dec 9999 23:59:59 GMT",
        "rfc850": b"Sunday, 06-Nov-94 08:49:37 GMT",
        "asctime": b"Sun Nov  6 08:49:37 1994",
        "bad-zone": b"Sun, 06 Nov 1994 08:49:37 UTC",
        "bad-negative": b"-5",
        "bad-huge": b"99999999999999999999",
        "bad-word": b"later",
    }


TARGETS = {
    "fuzz_http1": http1_seeds,
    "fuzz_server_event": server_event_seeds,
    "fuzz_server_scan": server_scan_seeds,
    "fuzz_timestamp": timestamp_seeds,
    "fuzz_log_record": log_record_seeds,
    "fuzz_log_recovery": log_recovery_seeds,
    "fuzz_server_adapter": server_adapter_seeds,
    "fuzz_segment_adapter": segment_adapter_seeds,
    "fuzz_moengage_adapter": moengage_adapter_seeds,
    "fuzz_webengage_adapter": webengage_adapter_seeds,
    "fuzz_clevertap_adapter": clevertap_adapter_seeds,
    "fuzz_campaign": campaign_seeds,
    "fuzz_tzif": tzif_seeds,
    "fuzz_source_settings": source_settings_seeds,
    "fuzz_webhook_settings": webhook_settings_seeds,
    "fuzz_webhook_template": webhook_template_seeds,
    "fuzz_retry_after": retry_after_seeds,
}


def main():
    for target, make in TARGETS.items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.remove(os.path.join(d, old))
        seeds = make()
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%-18s %3d seeds, %7d bytes" % (target, len(seeds),
                                                sum(len(v) for v in seeds.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
