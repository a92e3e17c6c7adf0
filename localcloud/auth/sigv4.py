"""Verifying AWS Signature Version 4 on an incoming request, as AWS's front ends do.

Pure functions over a WSGI environ and a secret: :func:`parse` reads who claims to have
signed the request (``Authorization`` header, or the ``X-Amz-*`` query parameters of a
presigned URL), :func:`verify` recomputes the signature with that key's secret and
compares. Nothing here knows which keys exist (``credentials.py``) or how a refusal looks
on the wire (``gate.py``).

The canonical request follows the SigV4 specification (docs.aws.amazon.com/IAM/latest/
UserGuide/reference_sigv-create-signed-request.html): the path URI-encoded once for S3
and twice for every other service, the query re-encoded and sorted, the signed headers
with their values trimmed, and the payload's SHA-256 (S3 names it in
``x-amz-content-sha256``, possibly ``UNSIGNED-PAYLOAD``). Clients differ in how much of the
path they encode before signing, so the path is also tried exactly as sent; both forms still
need the secret to match.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote

from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# AWS refuses a request whose time is further than this from its own clock.
MAX_SKEW = timedelta(minutes=15)
# Presigned URLs live at most seven days (SigV4's limit).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_SCOPE = re.compile(r"^(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request$")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# The same shape, read without strptime (a third of a signature check's time otherwise).
_AMZ_DATE_PARTS = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


class Malformed(ValueError):
    """The request carries authentication that is not well-formed SigV4; the message says how."""


class Expired(ValueError):
    """The signature's time is outside what AWS accepts; the message says by how much."""


@dataclass(frozen=True)
class Claim:
    """Who says they signed the request, and what they signed."""

    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    security_token: str | None
    presigned: bool
    expires: int | None = None  # presigned URLs only

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


_HEADER_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


def scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(region, service) a request claims in its credential scope (header or presigned query), unverified."""
    match = _HEADER_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match[1], match[2]
    credential = dict(query_pairs(environ.get("QUERY_STRING", ""))).get("X-Amz-Credential")
    found = _SCOPE.match(credential) if credential else None
    return (found["region"], found["service"]) if found else None


def query_pairs(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query_string.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def header(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def is_signed(environ: dict[str, Any]) -> bool:
    """Whether the request carries any AWS authentication at all (valid or not)."""
    if environ.get("HTTP_AUTHORIZATION"):
        return True
    return any(key.lower() in ("x-amz-signature", "x-amz-credential", "signature", "awsaccesskeyid")
               for key, _ in query_pairs(environ.get("QUERY_STRING", "")))


def parse(environ: dict[str, Any]) -> Claim:
    """The signer's claim. Raises :class:`Malformed` for anything that is not SigV4."""
    auth = environ.get("HTTP_AUTHORIZATION")
    if auth:
        match = _HEADER.match(auth.strip())
        if not match:
            if auth.startswith("AWS "):
                raise Malformed("Signature Version 2 is not supported; sign requests with Signature Version 4")
            raise Malformed(f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                            f"parameters of {ALGORITHM}")
        scope = _SCOPE.match(match["credential"])
        if not scope:
            raise Malformed("Credential should be scoped to a valid region, service and date: "
                            "KEY/YYYYMMDD/REGION/SERVICE/aws4_request")
        amz_date = header(environ, "x-amz-date") or ""
        if not amz_date:
            amz_date = _rfc1123_to_amz(header(environ, "date"))
        return Claim(scope["key"], scope["date"], scope["region"], scope["service"],
                     tuple(match["signed"].split(";")), match["signature"], amz_date,
                     header(environ, "x-amz-security-token"), presigned=False)
    query = dict(query_pairs(environ.get("QUERY_STRING", "")))
    if "X-Amz-Signature" not in query:
        raise Malformed("the request is not signed with Signature Version 4")
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise Malformed(f"X-Amz-Algorithm must be {ALGORITHM}")
    scope = _SCOPE.match(query.get("X-Amz-Credential", ""))
    if not scope:
        raise Malformed("X-Amz-Credential should be KEY/YYYYMMDD/REGION/SERVICE/aws4_request")
    try:
        expires = int(query.get("X-Amz-Expires", "900"))
    except ValueError:
        raise Malformed("X-Amz-Expires must be a number of seconds") from None
    if not 0 < expires <= MAX_PRESIGN_SECONDS:
        raise Malformed(f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_SECONDS} seconds")
    return Claim(scope["key"], scope["date"], scope["region"], scope["service"],
                 tuple(query.get("X-Amz-SignedHeaders", "host").split(";")), query["X-Amz-Signature"],
                 query.get("X-Amz-Date", ""), query.get("X-Amz-Security-Token"), presigned=True, expires=expires)


def _rfc1123_to_amz(value: str | None) -> str:
    from email.utils import parsedate_to_datetime

    if not value:
        raise Malformed("the request must carry X-Amz-Date (or Date)")
    try:
        return parsedate_to_datetime(value).astimezone(timezone.utc).strftime(_AMZ_DATE)
    except (TypeError, ValueError):
        raise Malformed(f"Date header {value!r} is not an HTTP date") from None


def check_time(claim: Claim, now: datetime) -> None:
    """Raise :class:`Expired` when the request is too far from ``now`` or its presigned URL has expired."""
    signed_at = _amz_datetime(claim.amz_date)
    if claim.amz_date[:8] != claim.date:
        raise Malformed(f"the credential scope's date {claim.date} is not the date of X-Amz-Date {claim.amz_date}")
    if claim.presigned:
        if now > signed_at + timedelta(seconds=claim.expires or 0):
            raise Expired("Request has expired")
        if signed_at - now > MAX_SKEW:
            raise Expired("Request is not yet valid")
        return
    if abs(now - signed_at) > MAX_SKEW:
        raise Expired(f"Signature expired: {claim.amz_date} is now earlier than "
                      f"{(now - MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - 15 min.)")


def _amz_datetime(amz_date: str) -> datetime:
    parts = _AMZ_DATE_PARTS.fullmatch(amz_date)
    try:
        if parts is None:
            raise ValueError(amz_date)
        return datetime(*(int(part) for part in parts.groups()), tzinfo=timezone.utc)
    except ValueError:
        raise Malformed(f"X-Amz-Date {amz_date!r} must look like 20260101T120000Z") from None


def _canonical_query(query_string: str, presigned: bool) -> str:
    pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query_pairs(query_string)
             if not (presigned and k == "X-Amz-Signature")]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_paths(sent: str, service: str) -> list[str]:
    """Candidate canonical URIs: the specification's, then the path exactly as the client sent it."""
    sent = sent or "/"
    decoded = unquote(sent)
    if service == "s3":
        spec = quote(decoded, safe="/~")
        as_sent = sent
    else:
        once = quote(normalize_url_path(decoded), safe="/~")
        spec = quote(once, safe="/~")
        as_sent = quote(normalize_url_path(sent), safe="/~")
    return [spec] if spec == as_sent else [spec, as_sent]


def raw_path(environ: dict[str, Any]) -> str:
    """The path exactly as the client sent it (still percent-encoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))
    path = raw.split("?", 1)[0]
    if "://" in path:  # an absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return path


def _canonical_headers(environ: dict[str, Any], names: tuple[str, ...]) -> str:
    lines = []
    for name in names:
        value = header(environ, name)
        if value is None:
            raise Malformed(f"the signed header {name!r} is missing from the request")
        lines.append(f"{name}:{' '.join(value.split())}")
    return "\n".join(lines) + "\n"


def payload_hash(environ: dict[str, Any], claim: Claim, body: bytes | None) -> str:
    """What the client hashed: S3's declared hash, UNSIGNED-PAYLOAD for presigned URLs, else the body's."""
    declared = header(environ, "x-amz-content-sha256")
    if declared:
        return declared
    if claim.presigned:
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(body or b"").hexdigest()


def signing_key(secret: str, claim: Claim) -> bytes:
    return _signing_key(secret, claim.date, claim.region, claim.service)


# A derived key signs every request of its day, region and service: four HMACs each time
# otherwise. The secrets are the keyring's (the instance's and those it issued), never a caller's.
@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature_matches(environ: dict[str, Any], claim: Claim, secret: str, body: bytes | None) -> bool:
    """Whether ``claim.signature`` is this request signed with ``secret``."""
    if "host" not in claim.signed_headers:
        raise Malformed("the Host header must be signed")
    tail = "\n".join([
        _canonical_query(environ.get("QUERY_STRING", ""), claim.presigned),
        _canonical_headers(environ, claim.signed_headers),
        ";".join(claim.signed_headers),
        payload_hash(environ, claim, body),
    ])
    key = signing_key(secret, claim)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    for path in _canonical_paths(raw_path(environ), claim.service):
        canonical = f"{method}\n{path}\n{tail}"
        to_sign = "\n".join([ALGORITHM, claim.amz_date, claim.scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, claim.signature):
            return True
    return False


def policy_signature_matches(policy_b64: str, claim: Claim, secret: str) -> bool:
    """Whether an S3 POST form's ``x-amz-signature`` is its base64 policy signed with ``secret``."""
    expected = hmac.new(signing_key(secret, claim), policy_b64.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, claim.signature)


def post_claim(fields: dict[str, str]) -> Claim:
    """The signer's claim in an S3 POST form (``x-amz-credential``, ``x-amz-date``, ``x-amz-signature``)."""
    lowered = {k.lower(): v for k, v in fields.items()}
    if lowered.get("x-amz-algorithm") != ALGORITHM:
        raise Malformed(f"x-amz-algorithm must be {ALGORITHM}")
    scope = _SCOPE.match(lowered.get("x-amz-credential", ""))
    if not scope:
        raise Malformed("x-amz-credential should be KEY/YYYYMMDD/REGION/s3/aws4_request")
    signature = lowered.get("x-amz-signature", "")
    if not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise Malformed("x-amz-signature must be 64 hexadecimal digits")
    return Claim(scope["key"], scope["date"], scope["region"], scope["service"], (), signature,
                 lowered.get("x-amz-date", ""), lowered.get("x-amz-security-token"), presigned=False)
