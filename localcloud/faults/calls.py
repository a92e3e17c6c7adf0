"""Which AWS call a WSGI request makes, as far as fault rules need to know: its service (from
the SigV4 credential scope), operation, the resources a ``match`` glob is tried on, and the
protocol its error must be sent in.

Work is done only when an active rule could match: most requests leave after one lock.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote

from .. import wire_errors, wsgi_input
from ..auth import sigv4
from ..wsgi_input import buffer_body, json_body
from .ruleset import RULES, Call, Rules

_REST_JSON = wire_errors.REST_JSON
_REST_XML = wire_errors.REST_XML

_LAMBDA_PATHS = [
    ("POST", re.compile(r"^/[^/]+/functions/(?P<name>[^/]+)/invocations/?$"), "Invoke"),
    ("POST", re.compile(r"^/[^/]+/functions/(?P<name>[^/]+)/invoke-async/?$"), "InvokeAsync"),
    ("GET", re.compile(r"^/[^/]+/functions/(?P<name>[^/]+)/configuration/?$"), "GetFunctionConfiguration"),
    ("GET", re.compile(r"^/[^/]+/functions/(?P<name>[^/]+)/?$"), "GetFunction"),
    ("GET", re.compile(r"^/[^/]+/functions/?$"), "ListFunctions"),
]
_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]+:\d+:function:([^:]+)(?::.*)?$")
# S3 sub-resources that turn a plain GET/PUT/DELETE into another operation; such requests
# get no operation name of their own here (a rule with operation "*" still matches them).
_S3_SUBRESOURCES = {"acl", "tagging", "policy", "cors", "lifecycle", "versioning", "notification", "encryption",
                    "publicAccessBlock", "ownershipControls", "logging", "website", "location", "replication",
                    "retention", "legal-hold", "object-lock", "attributes", "uploads", "uploadId", "delete",
                    "restore", "select", "torrent", "versions", "accelerate", "requestPayment", "analytics",
                    "inventory", "metrics", "intelligent-tiering", "policyStatus"}


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service of a SigV4-signed request, from its credential scope (header or presigned query)."""
    found = sigv4.scope(environ)
    return found[1] if found else None


def _lambda_call(method: str, path: str) -> tuple[str | None, tuple[str, ...]]:
    for wanted, pattern, operation in _LAMBDA_PATHS:
        found = pattern.match(path)
        if found and method == wanted:
            name = unquote(found.groupdict().get("name") or "")
            arn = _LAMBDA_ARN.match(name)
            names = (arn.group(1), name) if arn else ((name,) if name else ())
            return operation, names
    return None, ()


def _s3_call(method: str, path: str, query: dict[str, list[str]],
             environ: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket:
        return ("ListBuckets" if method == "GET" else None), ()
    resources = (bucket, f"{bucket}/{key}") if key else (bucket,)
    if set(query) & _S3_SUBRESOURCES:
        return None, resources
    if key:
        operation = {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject",
                     "PUT": "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject"}.get(method)
    else:
        operation = {"GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects",
                     "HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    return operation, resources


def _json_resources(service: str, body: dict[str, Any]) -> tuple[str, ...]:
    """The names a JSON request is about, for ``match``."""
    found: list[str] = []
    for key in ("TableName", "FunctionName", "stateMachineArn", "executionArn", "logGroupName", "Name"):
        if isinstance(body.get(key), str):
            found.append(body[key])
    s3_object = (body.get("Image") or {}).get("S3Object") if isinstance(body.get("Image"), dict) else None
    if isinstance(s3_object, dict) and isinstance(s3_object.get("Bucket"), str):
        found.append(s3_object["Bucket"])
        if isinstance(s3_object.get("Name"), str):
            found.append(f"{s3_object['Bucket']}/{s3_object['Name']}")
    for key in ("RequestItems",):  # BatchWriteItem, BatchGetItem
        if isinstance(body.get(key), dict):
            found.extend(str(name) for name in body[key])
    return tuple(found)


def identify(environ: dict[str, Any], rules: Rules = RULES) -> Call | None:
    """The call a request makes, or None when no active rule could match it (the usual case).

    The body is read (and put back) only for a JSON request a rule may be about.
    """
    if not rules.active():
        return None
    service = signing_service(environ)
    if service is None:
        return None
    seen = wsgi_input.request(environ)
    method, path, query, operation = seen.method, seen.path, seen.query, seen.json_operation
    if operation is not None:
        if not rules.wants(service, operation):
            return None
        version = "1.0" if "1.0" in environ.get("CONTENT_TYPE", "") else "1.1"
        return Call(service, operation, _json_resources(service, json_body(environ)), "json", version)
    if service in _REST_XML:
        operation, resources = _s3_call(method, path, query, environ)
        return Call(service, operation, resources, "rest-xml") if rules.wants(service, operation) else None
    if service == "lambda":
        operation, resources = _lambda_call(method, path)
        return Call(service, operation, resources, "rest-json") if rules.wants(service, operation) else None
    protocol = "rest-json" if service in _REST_JSON else "query"
    operation = None
    if protocol == "query":
        operation = query.get("Action", [None])[0]
        if operation is None and rules.wants(service, None, any_operation=True):
            form = parse_qs(buffer_body(environ).decode("utf-8", "replace"))
            operation = form.get("Action", [None])[0]
    return Call(service, operation, (), protocol) if rules.wants(service, operation) else None
