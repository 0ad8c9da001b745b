"""WebEngage webhooks through the real daemon: the tenant sets its license
code and secret key with PUT /v1/sources/webengage (GET never shows the
secret; a license code belongs to one tenant: 409); events posted to
/webengage/v4?eventType=&licenseCode=&secret= are answered exactly 200 and
processed with x-request-id as the event id; an unknown license code or a
wrong or missing secret is 401 and stores nothing; a body that is not a
JSON object is 400; the secret appears neither in the daemon's output nor
in `tallyd log dump`."""

import hashlib
import json
import urllib.parse

from harness import Daemon, create_tenant, dump, iso_now, run, wait_for

LICENSE = "~2024c5a1"
SECRET_KEY = "we-secret-key-7f3a"
CT = {"Content-Type": "application/json"}


def md5(license_code, key):
    return hashlib.md5(("%s:%s" % (license_code, key)).encode()).hexdigest()


def url(event_type, license_code, secret):
    q = {"eventType": event_type, "licenseCode": license_code}
    if secret is not None:
        q["secret"] = secret
    return "/webengage/v4?" + urllib.parse.urlencode(q)


def body(user="user-1042", **extra):
    b = {"event_data": {"amount": 250, "product": "sku-771"},
         "system_data": {"sdk": "ANDROID", "id": "2c9a1f"}, "user_id": user,
         "event_time": iso_now()}
    b.update(extra)
    return json.dumps(b)


def test_webengage(data):
    t = create_tenant(data)
    other = create_tenant(data, "other")
    d = Daemon(data)
    secret = md5(LICENSE, SECRET_KEY)
    status, s = d.get_json("/v1/sources/webengage", t["admin_key"])
    assert status == 200 and s["secret_set"] is False and s["license_code"] is None, s
    status, s = d.send_json("PUT", "/v1/sources/webengage",
                            {"license_code": LICENSE, "secret_key": SECRET_KEY}, t["admin_key"])
    assert status == 200 and s["secret_set"] is True and s["license_code"] == LICENSE, s
    status, s = d.get_json("/v1/sources/webengage", t["admin_key"])
    assert status == 200 and s["license_code"] == LICENSE and s["secret_set"] is True, s
    assert SECRET_KEY not in json.dumps(s) and secret not in json.dumps(s)
    # The same license code for another tenant: 409.
    status, s = d.send_json("PUT", "/v1/sources/webengage",
                            {"license_code": LICENSE, "secret_key": "x"}, other["admin_key"])
    assert status == 409, s
    for b in ({"license_code": LICENSE}, {"license_code": "", "secret_key": "k"},
              {"license_code": "a b", "secret_key": "k"}, {"license_code": LICENSE,
                                                          "secret_key": 5}, []):
        assert d.send_json("PUT", "/v1/sources/webengage", b, t["admin_key"])[0] == 400, b

    hdr = dict(CT, **{"x-request-id": "we-probe"})
    wait_for(lambda: d.request("POST", url("Probe", LICENSE, secret), body(), hdr)[0] == 200,
             10, "the account to apply")
    d.wait_processed()
    log_end = d.metrics()["tally_log_durable_offset_bytes"]

    # Refused: nothing stored.
    bad = [url("Purchase", LICENSE, None), url("Purchase", LICENSE, "0" * 32),
           url("Purchase", LICENSE, md5(LICENSE, "wrong")),
           url("Purchase", "~unknown", secret), url("Purchase", "", secret),
           "/webengage/v4"]
    for path in bad:
        status, _, answer = d.request("POST", path, body(),
                                      dict(CT, **{"x-request-id": "we-bad"}))
        assert status == 401, (path, status, answer)
    assert d.get_json("/v1/events/we-bad", t["admin_key"])[0] == 404
    assert d.metrics()["tally_log_durable_offset_bytes"] == log_end
    # A body that can never succeed.
    for raw in ("[1]", "{", "\"x\""):
        status, _, _ = d.request("POST", url("Purchase", LICENSE, secret), raw,
                                 dict(CT, **{"x-request-id": "we-400"}))
        assert status == 400, raw

    # Accepted: exactly 200, processed; the secret in upper case works too.
    status, _, answer = d.request("POST", url("Purchase", LICENSE, secret), body(),
                                  dict(CT, **{"x-request-id": "we-1"}))
    assert status == 200 and json.loads(answer) == {"success": True}, answer
    status, _, _ = d.request("POST", url("Added To Cart", LICENSE, secret.upper()),
                             body(user=None, cuid="c-77"), dict(CT, **{"X-Request-Id": "we-2"}))
    assert status == 200
    # Without x-request-id: still stored, under a generated id.
    status, _, _ = d.request("POST", url("No Id", LICENSE, secret), body(), CT)
    assert status == 200
    d.wait_processed()
    status, e = d.get_json("/v1/events/we-1", t["admin_key"])
    assert status == 200 and e["status"] == "processed", e
    ev = e.get("event", e)
    assert ev["event_name"] == "Purchase" and ev["user_id"] == "user-1042", e
    assert ev["properties"] == {"amount": 250, "product": "sku-771"}, e
    status, e = d.get_json("/v1/events/we-2", t["admin_key"])
    assert status == 200 and e["status"] == "processed", e
    ev = e.get("event", e)
    assert ev["event_name"] == "Added To Cart" and ev["user_id"] == "c-77", e
    assert d.get_json("/v1/events/we-1", other["admin_key"])[0] == 404
    assert d.stop() == 0

    records = [r for r in dump(data) if r.get("source") == "webengage"]
    assert len(records) == 4, records
    text = json.dumps(records)
    for s in (secret, secret.upper(), SECRET_KEY):
        assert s not in text
        assert s not in d.stderr() and s not in d.stdout()
    assert "Purchase" in text and LICENSE in text and "we-1" in text


if __name__ == "__main__":
    run(globals())
