"""Signature checks as pure functions: requests signed by botocore itself verify, any change fails."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.auth import credentials, sigv2, sigv4
from localcloud.auth.gate import Gate, Refused

KEY = credentials.Credentials("LKIAEXAMPLEEXAMPLE00", "instance-secret")
BOTO_KEY = Credentials(KEY.access_key_id, KEY.secret_access_key)
HOST = "127.0.0.1:4566"


def environ_of(request: AWSRequest) -> dict:
    """The WSGI environ werkzeug builds for what botocore sends."""
    parts = urlsplit(request.url)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    env = {"REQUEST_METHOD": request.method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
           "RAW_URI": parts.path + (f"?{parts.query}" if parts.query else ""), "HTTP_HOST": parts.netloc,
           "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return env


def signed(method: str, path: str, service: str, body: bytes = b"", headers: dict | None = None,
           signer=SigV4Auth, creds: Credentials = BOTO_KEY) -> dict:
    request = AWSRequest(method=method, url=f"http://{HOST}{path}", data=body, headers=headers or {})
    signer(creds, service, "us-east-1").add_auth(request)
    return environ_of(request)


def verify(env: dict, secret: str = KEY.secret_access_key) -> bool:
    claim = sigv4.parse(env)
    sigv4.check_time(claim, datetime.now(timezone.utc))
    body = None if env.get("HTTP_X_AMZ_CONTENT_SHA256") or claim.presigned else env["wsgi.input"].getvalue()
    return sigv4.signature_matches(env, claim, secret, body)


@pytest.mark.parametrize("method,path,service,body,headers", [
    ("POST", "/", "dynamodb", b'{"TableName": "t"}',
     {"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Type": "application/x-amz-json-1.0"}),
    ("POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations",
     "lambda", b"{}", {}),
    ("GET", "/restapis?limit=25&position=a%2Fb", "apigateway", b"", {}),
    ("POST", "/", "sts", b"Action=GetCallerIdentity&Version=2011-06-15",
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}),
])
def test_requests_signed_by_botocore_verify(method, path, service, body, headers):
    assert verify(signed(method, path, service, body, headers))


def test_s3_keys_with_spaces_plus_and_unicode_verify():
    env = signed("PUT", "/bucket/a%20b/c%2Bd%3D%C3%A9.txt", "s3", b"hi",
                 {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, signer=S3SigV4Auth)
    assert verify(env)


def test_a_changed_body_path_header_or_secret_fails():
    base = ("POST", "/", "dynamodb", b'{"TableName": "t"}', {"X-Amz-Target": "DynamoDB_20120810.DescribeTable"})
    env = signed(*base)
    env["wsgi.input"] = io.BytesIO(b'{"TableName": "other"}')
    assert not verify(env)
    env = signed(*base)
    env["HTTP_X_AMZ_TARGET"] = "DynamoDB_20120810.DeleteTable"
    assert not verify(env)
    env = signed("GET", "/bucket/a", "s3", signer=S3SigV4Auth)
    env["RAW_URI"] = env["PATH_INFO"] = "/bucket/b"
    assert not verify(env)
    assert not verify(signed(*base), secret="another-secret")


def test_the_host_must_be_signed_and_present():
    env = signed("GET", "/restapis", "apigateway")
    del env["HTTP_HOST"]
    with pytest.raises(sigv4.Malformed, match="'host' is missing"):
        verify(env)


def test_a_request_older_than_fifteen_minutes_has_expired():
    env = signed("GET", "/restapis", "apigateway")
    claim = sigv4.parse(env)
    later = datetime.strptime(claim.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) + timedelta(minutes=16)
    with pytest.raises(sigv4.Expired, match="Signature expired"):
        sigv4.check_time(claim, later)


def test_presigned_sigv4_urls_verify_until_they_expire():
    request = AWSRequest(method="GET", url=f"http://{HOST}/bucket/photo%201.png", headers={})
    S3SigV4QueryAuth(BOTO_KEY, "s3", "us-east-1", expires=60).add_auth(request)
    env = environ_of(request)
    assert verify(env)
    claim = sigv4.parse(env)
    with pytest.raises(sigv4.Expired, match="Request has expired"):
        sigv4.check_time(claim, datetime.now(timezone.utc) + timedelta(seconds=61))


def test_sigv2_presigned_urls_verify_and_fail_when_changed():
    request = AWSRequest(method="GET", url=f"http://{HOST}/bucket/a%20b.png", headers={})
    HmacV1QueryAuth(BOTO_KEY, expires=60).add_auth(request)
    env = environ_of(request)
    assert sigv2.is_v2(env)
    claim = sigv2.parse(env)
    assert sigv2.signature_matches(env, claim, KEY.secret_access_key, sigv4.raw_path(env))
    assert not sigv2.signature_matches(env, claim, "another", sigv4.raw_path(env))
    env["RAW_URI"] = "/bucket/other.png"
    assert not sigv2.signature_matches(env, claim, KEY.secret_access_key, sigv4.raw_path(env))


class _Keyring(credentials.Keyring):
    """Only the instance key, and one issued key with a session token: no moto needed."""

    def lookup(self, access_key):
        if access_key == KEY.access_key_id:
            return credentials.Known(KEY.secret_access_key, None, "instance")
        if access_key == "ASIAISSUEDISSUED0000":
            return credentials.Known("issued-secret", "the-token", "arn:aws:sts::123456789012:assumed-role/r/s")
        return None


GATE = Gate(4566, _Keyring(KEY))


def refusal(env: dict) -> tuple[str, str]:
    started = {}
    body = GATE.refuse_unsigned(env, lambda status, headers: started.update(status=status, headers=headers))
    assert body is not None, "the request was accepted"
    return started["status"], b"".join(body).decode()


def test_unsigned_unknown_and_wrong_requests_get_each_services_own_error():
    unsigned = environ_of(AWSRequest(method="POST", url=f"http://{HOST}/", data=b"{}",
                                     headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"}))
    assert refusal(unsigned)[0].startswith("400") and "MissingAuthenticationTokenException" in refusal(unsigned)[1]
    stranger = Credentials("AKIASTRANGERSTRANGER", "x")
    status, body = refusal(signed("GET", "/bucket/key", "s3", signer=S3SigV4Auth, creds=stranger))
    assert status.startswith("403") and "<Code>InvalidAccessKeyId</Code>" in body
    status, body = refusal(signed("POST", "/", "sts", b"Action=GetCallerIdentity", creds=stranger,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert status.startswith("403") and "<Code>InvalidClientTokenId</Code>" in body
    wrong = Credentials(KEY.access_key_id, "wrong")
    status, body = refusal(signed("GET", "/2015-03-31/functions", "lambda", creds=wrong))
    assert status.startswith("403") and '"message": "The request signature we calculated' in body


def test_issued_keys_need_their_session_token():
    issued = Credentials("ASIAISSUEDISSUED0000", "issued-secret", "the-token")
    assert GATE.refuse_unsigned(signed("GET", "/2015-03-31/functions", "lambda", creds=issued), print) is None
    without = Credentials("ASIAISSUEDISSUED0000", "issued-secret")
    assert refusal(signed("GET", "/2015-03-31/functions", "lambda", creds=without))[0].startswith("403")
    started = {}
    GATE.refuse_unsigned(signed("GET", "/2015-03-31/functions", "lambda", creds=without),
                         lambda status, headers: started.update(headers=dict(headers)))
    assert started["headers"]["x-amzn-ErrorType"] == "UnrecognizedClientException"


@pytest.mark.parametrize("host,allowed", [
    ("127.0.0.1:4566", True), ("localhost:4566", True), ("[::1]:4566", True),
    ("bucket.localhost:4566", True), ("abc123.execute-api.localhost:4566", True),
    ("evil.example:4566", False), ("127.0.0.1.evil.example:4566", False), ("localhost:80", False),
    ("127.0.0.1", False), ("", False), (None, False), ("localhost.evil:4566", False),
])
def test_only_loopback_hosts_with_this_port_are_served(host, allowed):
    assert GATE.host_allowed(host) is allowed


def test_a_post_form_signature_is_checked_with_the_key_it_names():
    import base64
    import hashlib
    import hmac

    policy = base64.b64encode(b'{"expiration": "2030-01-01T00:00:00Z", "conditions": []}').decode()
    fields = {"AWSAccessKeyId": KEY.access_key_id,
              "signature": base64.b64encode(hmac.new(KEY.secret_access_key.encode(), policy.encode(),
                                                     hashlib.sha1).digest()).decode()}
    assert GATE.check_post_signature(fields, policy).principal == "instance"
    with pytest.raises(Refused) as refused:
        GATE.check_post_signature({**fields, "signature": "AAAA"}, policy)
    assert refused.value.kind == "bad-signature"
    with pytest.raises(Refused) as refused:
        GATE.check_post_signature({**fields, "AWSAccessKeyId": "AKIASTRANGER"}, policy)
    assert refused.value.kind == "unknown-key"


@pytest.mark.parametrize("amz_date", ["20260101T1200Z", "2026-01-01T12:00:00Z", "20261301T120000Z",
                                      "20260101T250000Z", "20260101T120000", "x" * 16, ""])
def test_a_malformed_amz_date_is_refused_as_such(amz_date):
    claim = sigv4.parse(signed("GET", "/2015-03-31/functions", "lambda"))
    claim = sigv4.Claim(**{**claim.__dict__, "amz_date": amz_date, "date": amz_date[:8]})
    with pytest.raises(sigv4.Malformed):
        sigv4.check_time(claim, datetime.now(timezone.utc))


def test_the_derived_key_is_sigv4s_for_each_secret_day_region_and_service():
    from botocore.auth import SigV4Auth as Signer

    claim = sigv4.parse(signed("GET", "/2015-03-31/functions", "lambda"))
    for secret in ("one-secret", "another-secret", "one-secret"):
        signer = Signer(Credentials("AKIA", secret), "lambda", "us-east-1")
        assert sigv4.signing_key(secret, claim) == signer._sign(
            signer._sign(signer._sign(signer._sign(("AWS4" + secret).encode(), claim.date), "us-east-1"),
                         "lambda"), "aws4_request")
    assert sigv4.signing_key("one-secret", claim) != sigv4.signing_key("another-secret", claim)


# --- the index of assumed roles by access key -----------------------------------------------------

class _Role:
    def __init__(self, key: str) -> None:
        self.access_key_id = key


def test_the_index_finds_roles_assumed_after_an_earlier_lookup():
    index, roles = credentials.AssumedRoleIndex(), [_Role("ASIA1")]
    assert index.find([roles], "ASIA2") is None
    roles.append(_Role("ASIA2"))
    assert index.find([roles], "ASIA2") is roles[1]
    assert index.find([roles], "ASIA1") is roles[0]


def test_the_index_forgets_a_backend_that_was_reset():
    index, old, new = credentials.AssumedRoleIndex(), [_Role("ASIA1")], [_Role("ASIA2")]
    assert index.find([old], "ASIA1") is old[0]
    assert index.find([new], "ASIA1") is None  # moto's reset: a new backend, a new list
    assert index.find([new], "ASIA2") is new[0]


def test_the_index_rebuilds_a_list_that_shrank_and_keeps_the_first_of_a_key():
    index, roles = credentials.AssumedRoleIndex(), [_Role("ASIA1"), _Role("ASIA2")]
    index.find([roles], "ASIA1")
    del roles[:]
    roles.append(_Role("ASIA3"))
    assert index.find([roles], "ASIA1") is None and index.find([roles], "ASIA3") is roles[0]
    twice = [_Role("ASIA4"), _Role("ASIA4")]
    assert index.find([twice], "ASIA4") is twice[0]


def test_issued_credentials_are_found_through_the_index_until_moto_is_reset():
    from moto.sts.models import sts_backends  # moto's state in this test's own process

    issued = credentials.issue_for_role("arn:aws:iam::123456789012:role/indexed", "session", "us-east-1")
    known = credentials.Keyring(KEY).lookup(issued.access_key_id)
    assert known is not None and known.secret_access_key == issued.secret_access_key
    assert known.principal == "arn:aws:sts::123456789012:assumed-role/indexed/session"
    sts_backends.reset()
    assert credentials.Keyring(KEY).lookup(issued.access_key_id) is None
