"""Fault injection: make chosen AWS calls fail on demand, as AWS fails them.

A *rule* names a call (service and operation, optionally the function, table or bucket it
is about), an AWS error code, and how often to answer with it: ``count`` times and then the
rule expires, or with a ``probability`` drawn from its own seeded generator. The front door
(``server.py``) asks :func:`RULES.check` about every signed request before moto sees it;
a matching rule answers with the error in the service's own wire format (JSON 1.0/1.1 with
``__type`` for DynamoDB, Rekognition and other X-Amz-Target services, rest-json with
``x-amzn-ErrorType`` for Lambda, rest-xml ``<Error>`` for S3), so boto3 raises the same
``ClientError`` it would against AWS, and the Step Functions interpreter, whose Lambda calls
also come through the front door, sees ``Lambda.TooManyRequestsException`` and the like.

Only HTTP requests are affected: Lambda code's boto3, Step Functions' Lambda invocations,
notebooks and tests. moto's in-process calls (an S3 event notification invoking a function,
Rekognition reading the S3 object) are not.

From tests and notebooks::

    from localcloud import faults
    faults.inject(endpoint, service="rekognition", operation="DetectLabels",
                  error="ThrottlingException", count=2)
    faults.rules(endpoint)   # what is set and how often each fired
    faults.clear(endpoint)

From a shell: ``python -m localcloud faults add|list|clear``. The admin endpoints
are ``POST``, ``GET`` and ``DELETE /_localcloud/faults`` (``DELETE /_localcloud/faults/ID``
removes one rule).

This module does not import moto: the client side (``inject``, ``rules``, ``clear``) runs
in notebooks and tests.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from . import wire_errors
from .auth import sigv4
from .wsgi_input import buffer_body, json_body

log = logging.getLogger("localcloud.faults")

ADMIN_PATH = "/_localcloud/faults"

# (service, error code) -> (HTTP status, AWS's usual message). A code not listed here needs
# an explicit status, so no error goes out with a status AWS would not send.
KNOWN_ERRORS: dict[str, dict[str, tuple[int, str]]] = {
    "lambda": {
        "TooManyRequestsException": (429, "Rate Exceeded."),
        "ServiceException": (500, "The service encountered an internal error."),
        "EC2ThrottledException": (502, "Lambda was throttled by Amazon EC2 during Lambda function initialization."),
        "ResourceNotFoundException": (404, "Function not found."),
        "ResourceConflictException": (409, "The operation cannot be performed at this time."),
        "ResourceNotReadyException": (502, "The function is not ready."),
        "AccessDeniedException": (403, "User is not authorized to perform: lambda:InvokeFunction"),
    },
    "rekognition": {
        "ThrottlingException": (400, "Rate exceeded"),
        "ProvisionedThroughputExceededException": (
            400, "The number of requests exceeded your throughput limit."),
        "InternalServerError": (500, "Amazon Rekognition experienced a service issue. Try your call again."),
        "AccessDeniedException": (400, "You are not authorized to perform the action."),
        "InvalidS3ObjectException": (
            400, "Unable to get object metadata from S3. Check object key, region and/or access permissions."),
        "InvalidImageFormatException": (400, "Request has invalid image format"),
        "ImageTooLargeException": (400, "Image size is too large."),
        "InvalidParameterException": (400, "Request has invalid parameters"),
        "LimitExceededException": (400, "An Amazon Rekognition service limit was exceeded."),
    },
    "dynamodb": {
        "ProvisionedThroughputExceededException": (
            400, "The level of configured provisioned throughput for the table was exceeded. "
                 "Consider increasing your provisioning level with the UpdateTable API."),
        "ThrottlingException": (400, "Rate of requests exceeds the allowed throughput."),
        "RequestLimitExceeded": (400, "Throughput exceeds the current throughput limit for your account."),
        "InternalServerError": (500, "Internal server error"),
        "AccessDeniedException": (400, "User is not authorized to perform this action."),
        "ResourceNotFoundException": (400, "Requested resource not found"),
        "ValidationException": (400, "One or more parameter values were invalid."),
    },
    "s3": {
        "SlowDown": (503, "Please reduce your request rate."),
        "InternalError": (500, "We encountered an internal error. Please try again."),
        "ServiceUnavailable": (503, "Service is unable to handle request."),
        "AccessDenied": (403, "Access Denied"),
        "NoSuchKey": (404, "The specified key does not exist."),
        "NoSuchBucket": (404, "The specified bucket does not exist"),
    },
    "states": {
        "ThrottlingException": (400, "Rate exceeded"),
        "ServiceQuotaExceededException": (400, "Service quota exceeded"),
    },
}
# Codes every service may be given without a status.
COMMON_ERRORS = {"ThrottlingException": 400, "InternalServerError": 500, "ServiceUnavailable": 503}

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


class FaultRuleError(ValueError):
    """A rule that cannot be set: the message says which field is wrong and why."""


# --- the rules ----------------------------------------------------------------------------


@dataclass
class Rule:
    service: str
    operation: str  # "*" for every operation of the service
    error: str
    status: int
    message: str
    count: int | None = 1  # None: until cleared
    probability: float | None = None
    seed: int | None = None
    match: str | None = None  # glob on the function name, table, bucket (or bucket/key)
    id: str = ""
    fired: int = 0
    seen: int = 0  # matching requests, fired or not
    created: float = field(default_factory=time.time)
    _random: random.Random | None = field(default=None, repr=False)

    @property
    def expired(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "service": self.service, "operation": self.operation, "match": self.match,
            "error": self.error, "status": self.status, "message": self.message, "count": self.count,
            "probability": self.probability, "seed": self.seed, "fired": self.fired, "seen": self.seen,
            "remaining": None if self.count is None else max(self.count - self.fired, 0),
            "expired": self.expired,
        }

    def describe(self) -> str:
        return describe(self.as_dict())


def describe(rule: dict[str, Any]) -> str:
    """One line for the log and ``status``: what a rule matches, what it answers, how often it fired."""
    what = f"{rule['service']} {rule['operation']}" + (f" [{rule['match']}]" if rule.get("match") else "")
    how = "until cleared" if rule["count"] is None else f"{rule['count']} time(s)"
    if rule.get("probability") is not None:
        how += f", p={rule['probability']}" + (f" seed={rule['seed']}" if rule.get("seed") is not None else "")
    state = "expired" if rule["expired"] else "active"
    return f"{rule['id']}: {what} -> {rule['status']} {rule['error']}, {how}; fired {rule['fired']} ({state})"


def make_rule(spec: dict[str, Any]) -> Rule:
    """A validated rule from its JSON form (what ``inject`` posts)."""
    allowed = {"service", "operation", "error", "status", "message", "count", "probability", "seed", "match"}
    unknown = set(spec) - allowed
    if unknown:
        raise FaultRuleError(f"unknown field(s) {sorted(unknown)}; a rule has {sorted(allowed)}")
    service = str(spec.get("service") or "").strip().lower()
    operation = str(spec.get("operation") or "").strip()
    error = str(spec.get("error") or "").strip()
    for name, value in (("service", service), ("operation", operation), ("error", error)):
        if not value:
            raise FaultRuleError(f"'{name}' is required, e.g. service=rekognition operation=DetectLabels "
                                 "error=ThrottlingException")
    known = KNOWN_ERRORS.get(service, {}).get(error)
    status = spec.get("status")
    if status is None:
        if known is None and error not in COMMON_ERRORS:
            listed = ", ".join(sorted(KNOWN_ERRORS.get(service, {}))) or "none"
            raise FaultRuleError(f"no default HTTP status for {service} {error}: give 'status' "
                                 f"(codes with a default for {service}: {listed})")
        status = known[0] if known else COMMON_ERRORS[error]
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise FaultRuleError(f"'status' must be an HTTP error status (400-599), got {status!r}")
    message = spec.get("message")
    if message is None:
        message = known[1] if known else f"{error} (injected by the local cloud)"
    count = spec.get("count", 1)
    probability = spec.get("probability")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise FaultRuleError(f"'count' must be a whole number >= 1, or null for until cleared; got {count!r}")
    if probability is not None:
        if not isinstance(probability, (int, float)) or isinstance(probability, bool) or not 0 < probability <= 1:
            raise FaultRuleError(f"'probability' must be in (0, 1], got {probability!r}")
        probability = float(probability)
    seed = spec.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise FaultRuleError(f"'seed' must be an integer, got {seed!r}")
    match = spec.get("match")
    if match is not None and (not isinstance(match, str) or not match):
        raise FaultRuleError(f"'match' must be a non-empty glob pattern, got {match!r}")
    rule = Rule(service=service, operation=operation, error=error, status=status, message=str(message),
                count=count, probability=probability, seed=seed, match=match)
    if probability is not None:
        rule._random = random.Random(seed)
    return rule


@dataclass(frozen=True)
class Call:
    """What the front door knows about a request: service, operation and the resources it names."""

    service: str
    operation: str | None
    resources: tuple[str, ...] = ()
    protocol: str = "json"
    json_version: str = "1.1"

    def label(self) -> str:
        return f"{self.service} {self.operation or '?'}" + (f" ({self.resources[0]})" if self.resources else "")


class Rules:
    """The active and expired rules of one local cloud; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Rule:
        rule = make_rule(spec)
        with self._lock:
            rule.id = f"f{next(self._ids)}"
            self._rules.append(rule)
        log.info("fault rule added: %s", rule.describe())
        return rule

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_dict() for rule in self._rules]

    def describe(self) -> list[str]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def clear(self, rule_id: str | None = None) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if rule_id is not None and r.id != rule_id]
            removed = before - len(self._rules)
        if removed:
            log.info("fault rule(s) cleared: %s", rule_id or "all")
        return removed

    def active(self) -> bool:
        with self._lock:
            return any(not r.expired for r in self._rules)

    def wants(self, service: str, operation: str | None, *, any_operation: bool = False) -> bool:
        """Whether any active rule could match; the front door reads a body only then."""
        with self._lock:
            return any(not r.expired and r.service == service
                       and (any_operation or r.operation in ("*", operation)) for r in self._rules)

    def check(self, call: Call) -> Rule | None:
        """The first active rule that matches ``call`` and decides to fire, counted as fired."""
        with self._lock:
            for rule in self._rules:
                if rule.expired or rule.service != call.service or rule.operation not in ("*", call.operation):
                    continue
                if rule.match is not None and not any(fnmatch.fnmatchcase(r, rule.match) for r in call.resources):
                    continue
                rule.seen += 1
                if rule._random is not None and rule._random.random() >= (rule.probability or 0):
                    continue
                rule.fired += 1
                fired = Rule(**{k: getattr(rule, k) for k in rule.__dataclass_fields__ if k != "_random"})
                break
            else:
                return None
        remaining = "until cleared" if fired.count is None else f"{fired.fired} of {fired.count}"
        log.warning("fault %s fired: %s -> %s %s (%s)", fired.id, call.label(), fired.status, fired.error, remaining)
        return fired


RULES = Rules()


# --- recognising the call -----------------------------------------------------------------


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
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        operation = target.rsplit(".", 1)[-1]
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


# --- the error on the wire ----------------------------------------------------------------


def error_response(call: Call, rule: Rule, method: str = "POST") -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of the error as ``call.service`` sends it."""
    headers = [("x-localcloud-fault", rule.id)]
    extra = None
    if call.protocol == "rest-json" and rule.error == "TooManyRequestsException":
        extra = {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
        headers.append(("Retry-After", "1"))
    return wire_errors.render(call.protocol, call.service, rule.error, rule.message, rule.status,
                              method=method, json_version=call.json_version, extra=extra, headers=headers)


def maybe_fail(environ: dict[str, Any], start_response: Callable[..., Any],
               rules: Rules = RULES) -> Iterable[bytes] | None:
    """The front door's check: the error response when a rule fires for this request, else None."""
    call = identify(environ, rules)
    if call is None:
        return None
    rule = rules.check(call)
    if rule is None:
        return None
    buffer_body(environ)  # drain it: the connection may carry the client's next request
    method = environ.get("REQUEST_METHOD", "POST")
    status, headers, body = error_response(call, rule, method)
    start_response(status, headers)
    return [body]


# --- client side: notebooks, tests, the CLI -----------------------------------------------


def _request(endpoint: str, method: str, path: str = ADMIN_PATH, body: Any = None) -> Any:
    from .auth import client

    data = None if body is None else json.dumps(body).encode()
    request = client.signed_request(endpoint, method, path, data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("message", "")
        except ValueError:
            detail = ""
        if exc.code == 400:
            raise FaultRuleError(detail or str(exc)) from None
        raise


def inject(endpoint: str, *, service: str, operation: str, error: str, count: int | None = 1,
           match: str | None = None, status: int | None = None, message: str | None = None,
           probability: float | None = None, seed: int | None = None) -> dict[str, Any]:
    """Add a rule to the local cloud at ``endpoint``; returns it (with its ``id``).

    ``count``: fire that many times, then expire (None: until cleared). ``probability`` with
    ``seed``: fire on that share of the matching requests, reproducibly. ``match``: a glob on
    the function name (Lambda), table (DynamoDB), bucket or ``bucket/key`` (S3, and the image
    of Rekognition's DetectLabels). ``status`` and ``message`` default to AWS's for known codes.
    """
    spec = {"service": service, "operation": operation, "error": error, "count": count, "match": match,
            "status": status, "message": message, "probability": probability, "seed": seed}
    return _request(endpoint, "POST", body={k: v for k, v in spec.items() if v is not None or k == "count"})


def rules(endpoint: str) -> list[dict[str, Any]]:
    """Every rule set on the local cloud at ``endpoint``, expired ones too, with how often each fired."""
    return _request(endpoint, "GET")["rules"]


def clear(endpoint: str, rule_id: str | None = None) -> int:
    """Remove every rule (or the one with ``rule_id``); returns how many were removed."""
    path = ADMIN_PATH if rule_id is None else f"{ADMIN_PATH}/{rule_id}"
    return _request(endpoint, "DELETE", path)["cleared"]


# --- server side: the admin endpoints -----------------------------------------------------


def admin(method: str, path: str, body: bytes) -> tuple[int, Any]:
    """(status, JSON document) for a request to /_localcloud/faults[/ID]."""
    rest = path[len(ADMIN_PATH):].strip("/")
    if method == "GET" and not rest:
        return 200, {"rules": RULES.list()}
    if method == "DELETE":
        return 200, {"cleared": RULES.clear(rest or None)}
    if method == "POST" and not rest:
        try:
            spec = json.loads(body or b"{}")
            if not isinstance(spec, dict):
                raise FaultRuleError("the body must be a JSON object (a rule)")
            return 201, RULES.add(spec).as_dict()
        except ValueError as exc:  # FaultRuleError and bad JSON
            return 400, {"error": "InvalidFaultRule", "message": str(exc)}
    return 405, {"error": "MethodNotAllowed", "message": f"{method} {path}: use POST, GET or DELETE {ADMIN_PATH}"}
