"""The rules: what a rule is, which rules may be set (AWS's status and message per error code),
and the thread-safe set a local cloud checks every request against (:data:`RULES`).

A rule fires ``count`` times and then expires, or with a ``probability`` drawn from its own
seeded generator, so a test can repeat a random sequence.
"""

from __future__ import annotations

import fnmatch
import itertools
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .api import FaultRuleError, describe

# One logger for the package, under its old name, so server logs read as before the split.
log = logging.getLogger("localcloud.faults")

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
