"""Verifying S3's legacy Signature Version 2, which boto3 still uses by default for S3
presigned URLs and presigned POSTs in us-east-1.

S3 alone accepts it (docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html): an
``Authorization: AWS KEY:SIGNATURE`` header, the ``AWSAccessKeyId``/``Signature``/``Expires``
query of a presigned URL, or the ``AWSAccessKeyId``/``signature`` fields of a POST form,
each an HMAC-SHA1 in base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.auth import HmacV1Auth

from .sigv4 import Malformed, header, query_pairs

# The sub-resources that belong to the signed resource, as botocore signs them.
_SUBRESOURCES = frozenset(HmacV1Auth.QSAOfInterest)


@dataclass(frozen=True)
class Claim:
    access_key: str
    signature: str
    security_token: str | None
    expires: int | None  # presigned URLs: seconds since the epoch


def is_v2(environ: dict[str, Any]) -> bool:
    if (environ.get("HTTP_AUTHORIZATION") or "").startswith("AWS "):
        return True
    names = {key for key, _ in query_pairs(environ.get("QUERY_STRING", ""))}
    return "AWSAccessKeyId" in names and "Signature" in names


def parse(environ: dict[str, Any]) -> Claim:
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    if auth.startswith("AWS "):
        key, sep, signature = auth[4:].strip().partition(":")
        if not sep or not key or not signature:
            raise Malformed("the Authorization header must be 'AWS KEY:SIGNATURE'")
        return Claim(key, signature, header(environ, "x-amz-security-token"), None)
    query = dict(query_pairs(environ.get("QUERY_STRING", "")))
    try:
        expires = int(query.get("Expires", ""))
    except ValueError:
        raise Malformed("a presigned URL must carry Expires (seconds since the epoch)") from None
    return Claim(query["AWSAccessKeyId"], query["Signature"], query.get("x-amz-security-token"), expires)


def _resource(environ: dict[str, Any], raw_path: str) -> str:
    host = (environ.get("HTTP_HOST") or "").split(":")[0].lower()
    resource = raw_path or "/"
    if host.endswith(".localhost"):  # virtual-host style: the bucket is the host's first label
        resource = "/" + host.split(".", 1)[0] + resource
    subresources = []
    for part in environ.get("QUERY_STRING", "").split("&"):
        name, sep, value = part.partition("=")
        if name in _SUBRESOURCES:
            subresources.append(f"{name}={unquote(value)}" if sep else name)
    return resource + ("?" + "&".join(sorted(subresources)) if subresources else "")


def string_to_sign(environ: dict[str, Any], claim: Claim, raw_path: str) -> str:
    if claim.expires is not None:
        date = str(claim.expires)
    elif header(environ, "x-amz-date"):
        date = ""  # S3 ignores Date when x-amz-date is present
    else:
        date = header(environ, "date") or ""
    amz: dict[str, list[str]] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_X_AMZ_"):
            amz.setdefault(key[5:].lower().replace("_", "-"), []).append(value.strip())
    if claim.expires is not None and claim.security_token and "x-amz-security-token" not in amz:
        amz["x-amz-security-token"] = [claim.security_token]
    lines = [environ.get("REQUEST_METHOD", "GET").upper(), header(environ, "content-md5") or "",
             environ.get("CONTENT_TYPE") or "", date]
    lines += [f"{name}:{','.join(values)}" for name, values in sorted(amz.items())]
    return "\n".join(lines + [_resource(environ, raw_path)])


def _sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


def signature_matches(environ: dict[str, Any], claim: Claim, secret: str, raw_path: str) -> bool:
    return hmac.compare_digest(_sign(secret, string_to_sign(environ, claim, raw_path)), claim.signature)


def policy_signature_matches(policy_b64: str, signature: str, secret: str) -> bool:
    return hmac.compare_digest(_sign(secret, policy_b64), signature)
