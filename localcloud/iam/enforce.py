"""The verdict on a call, and what the caller gets when it is refused.

:data:`ENFORCER` is asked by the front door about every request signed with role (or IAM
user) credentials, by API Gateway and S3 before they invoke a function on their own behalf,
and by the Lambda runtime before it delivers a function's logs. Its :attr:`Enforcer.mode`:

- ``enforce`` (the default): a denied call gets AWS's AccessDenied in the service's wire format;
- ``report``: the call goes on, and what would have been denied is logged and kept;
- ``off``: nothing is evaluated.

Set it with ``LOCALCLOUD_IAM`` when the local cloud starts, or at any time with
``python -m localcloud iam mode report`` (``iam.set_mode``). Every denial (or, when
reporting, would-be denial) is kept, the last 500: ``python -m localcloud iam denials``
shows them as CloudTrail would, with who, what, on which resource and why.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .. import config, wire_errors
from . import calls, principals
from .policy import Decision, Request, evaluate

log = logging.getLogger("localcloud.iam")

MODES = ("enforce", "report", "off")
ENV_VAR = "LOCALCLOUD_IAM"
MAX_KEPT = 500

# (code, HTTP status) of an authorization refusal, per service (observed on AWS).
_DENIAL_CODES = {"dynamodb": ("AccessDeniedException", 400), "states": ("AccessDeniedException", 400),
                 "logs": ("AccessDeniedException", 400), "rekognition": ("AccessDeniedException", 400),
                 "lambda": ("AccessDeniedException", 403), "s3": ("AccessDenied", 403),
                 "sts": ("AccessDenied", 403), "iam": ("AccessDenied", 403)}
_WHY = {"implicit-deny": "because no identity-based policy allows the {action} action",
        "identity-deny": "with an explicit deny in an identity-based policy",
        "resource-deny": "with an explicit deny in a resource-based policy"}


def mode_from_environment() -> str:
    mode = os.environ.get(ENV_VAR, "enforce").strip().lower() or "enforce"
    if mode not in MODES:
        raise ValueError(f"{ENV_VAR}={mode!r}: use one of {', '.join(MODES)}")
    return mode


def message(principal: str, action: str, resource: str, reason: str, *, service: str = "") -> str:
    """AWS's wording, e.g. ``User: ARN is not authorized to perform: A on resource: R because ...``.

    An action without a resource type is named without ``on resource:``; S3 quotes the ARN.
    """
    on = ""
    if resource != "*":
        on = f' on resource: "{resource}"' if service == "s3" else f" on resource: {resource}"
    return f"User: {principal} is not authorized to perform: {action}{on} {_WHY[reason].format(action=action)}"


@dataclass(frozen=True)
class Denial:
    time: float
    principal: str
    action: str
    resource: str
    reason: str
    service: str
    operation: str
    message: str
    enforced: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Enforcer:
    def __init__(self, mode: str = "enforce") -> None:
        self.mode = mode
        self._kept: collections.deque[Denial] = collections.deque(maxlen=MAX_KEPT)
        self._lock = threading.Lock()
        self._unrecognised: set[str] = set()

    # --- the verdicts ---------------------------------------------------------------------

    def decide(self, principal: principals.Principal, action: str, resource: str,
               context: dict[str, Any] | None = None) -> Decision:
        request = Request(action, resource, principal=principal.arn,
                          context={**_request_context(), **principal.context, **(context or {})})
        decision = evaluate(list(principal.policies), request, _resource_policy(resource))
        for problem in decision.unsupported:
            log.warning("iam: %s not evaluated for %s (%s); the statement counts as not matching",
                        problem, principal.arn, action)
        return decision

    def refusal(self, principal_arn: str, call: calls.Call) -> tuple[str, int, str] | None:
        """(code, status, message) when ``call`` is refused (or would be, when reporting), else None."""
        principal = principals.resolve(principal_arn)
        for check in call.checks:
            decision = self.decide(principal, check.action, check.resource, call.context)
            if not decision.allowed:
                text = message(principal.arn, check.action, check.resource, decision.reason, service=call.service)
                if check.refusal is not None:
                    code, status, shown = check.refusal
                else:
                    code, status = _DENIAL_CODES.get(call.service, ("AccessDenied", 403))
                    shown = text
                self._keep(principal.arn, check.action, check.resource, decision.reason, call, text)
                return code, status, shown
        if call.object_read is not None:
            return self._missing_key(principal, call)
        return None

    def _missing_key(self, principal: principals.Principal, call: calls.Call) -> tuple[str, int, str] | None:
        # S3 answers a missing key with 404 only to a caller that may list the bucket; others get 403.
        bucket, key = call.object_read or ("", "")
        if principals.object_exists(bucket, key) is not False:
            return None
        arns = calls.Arns(principal.account, call.region)
        listing = self.decide(principal, "s3:ListBucket", arns.bucket(bucket), {"s3:prefix": key})
        if listing.allowed:
            return None
        self._keep(principal.arn, "s3:ListBucket", arns.bucket(bucket), "missing-key", call,
                   f"{key} does not exist and s3:ListBucket is not allowed: S3 answers 403, not 404")
        return "AccessDenied", 403, "Access Denied"

    def service_may_invoke(self, function_arn: str, service_principal: str, *, source_arn: str,
                           source_account: str) -> bool:
        """Whether the function's resource-based policy lets ``service_principal`` invoke it from there."""
        if self.mode == "off":
            return True
        request = Request("lambda:InvokeFunction", function_arn, service_principal=service_principal,
                          context={"aws:SourceArn": source_arn, "aws:SourceAccount": source_account,
                                   **_request_context()})
        policy = principals.lambda_policy(function_arn)
        decision = evaluate([], request, policy)
        if decision.allowed:
            return True
        text = (f"{service_principal} may not invoke {function_arn} from {source_arn}: "
                + ("the function has no resource-based policy" if policy is None
                   else "no statement of its resource-based policy allows it"))
        self._keep(service_principal, "lambda:InvokeFunction", function_arn, decision.reason, None, text)
        return self.mode != "enforce"

    def may(self, principal_arn: str, checks: list[tuple[str, str]]) -> bool:
        """Whether the principal may do every (action, resource), for the local cloud's own work on
        its behalf (Lambda delivering its logs); its policies are read once for all of them."""
        if self.mode == "off" or not principals.is_evaluated(principal_arn):
            return True
        principal = principals.resolve(principal_arn)
        for action, resource in checks:
            decision = self.decide(principal, action, resource)
            if not decision.allowed:
                text = message(principal.arn, action, resource, decision.reason)
                self._keep(principal.arn, action, resource, decision.reason, None, text)
                return self.mode != "enforce"
        return True

    # --- the front door -------------------------------------------------------------------

    def refuse(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        """AWS's AccessDenied for a refused request, else None (the request goes on)."""
        principal = environ.get("localcloud.principal")
        if self.mode == "off" or not principal or not principals.is_evaluated(principal):
            return None
        call = calls.describe(environ, config.ACCOUNT_ID)
        if call is None:
            self._note_unrecognised(environ)
            return None
        refused = self.refusal(principal, call)
        if refused is None or self.mode != "enforce":
            return None
        code, status, text = refused
        protocol, json_version = wire_errors.protocol_of(environ, call.service)
        status_line, headers, body = wire_errors.render(protocol, call.service, code, text, status,
                                                        method=environ.get("REQUEST_METHOD", "POST"),
                                                        json_version=json_version)
        start_response(status_line, headers)
        return [body]

    def refuse_post_upload(self, principal_arn: str, bucket: str, key: str, region: str) -> str | None:
        """S3's message when the signer of a browser POST upload may not put this key, else None."""
        if self.mode == "off" or not principals.is_evaluated(principal_arn):
            return None
        check = calls.Check("s3:PutObject", calls.Arns(config.ACCOUNT_ID, region).object(bucket, key))
        refused = self.refusal(principal_arn, calls.Call("s3", "PostObject", region, (check,)))
        if refused is None or self.mode != "enforce":
            return None
        return refused[2]

    # --- what was denied ------------------------------------------------------------------

    def _keep(self, principal: str, action: str, resource: str, reason: str, call: calls.Call | None,
              text: str) -> None:
        denial = Denial(time.time(), principal, action, resource, reason, call.service if call else "",
                        call.operation if call else "", text, self.mode == "enforce")
        with self._lock:
            self._kept.append(denial)
        log.warning("iam %s: %s", "denied" if denial.enforced else "would deny (report only)", text)

    def denials(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d.as_dict() for d in self._kept]

    def clear(self) -> int:
        with self._lock:
            count = len(self._kept)
            self._kept.clear()
        return count

    def _note_unrecognised(self, environ: dict[str, Any]) -> None:
        what = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} {environ.get('HTTP_X_AMZ_TARGET', '')}"
        if what not in self._unrecognised and len(self._unrecognised) < 100:
            self._unrecognised.add(what)
            log.warning("iam: not evaluated (request not recognised): %s", what.strip())


def _request_context() -> dict[str, Any]:
    now = time.time()
    # The local cloud listens on the loopback only, in plain HTTP: nothing leaves the machine,
    # so requests count as secure transport (a bucket policy denying insecure transport holds).
    return {"aws:SecureTransport": "true", "aws:EpochTime": str(int(now)),
            "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}


def _resource_policy(resource: str) -> dict[str, Any] | None:
    if resource.startswith("arn:aws:s3:::"):
        return principals.bucket_policy(resource[len("arn:aws:s3:::"):].split("/", 1)[0])
    if resource.startswith("arn:aws:lambda:") and ":function:" in resource:
        return principals.lambda_policy(resource)
    return None


ENFORCER = Enforcer(mode_from_environment())


def admin(method: str, path: str, body: bytes) -> tuple[int, Any]:
    """(status, JSON document) for ``/_localcloud/iam`` (GET, PUT {"mode"}) and ``DELETE .../denials``."""
    import json

    rest = path[len("/_localcloud/iam"):].strip("/")
    if method == "GET" and not rest:
        return 200, {"mode": ENFORCER.mode, "denials": ENFORCER.denials()}
    if method == "PUT" and not rest:
        try:
            wanted = json.loads(body or b"{}").get("mode")
        except (ValueError, AttributeError):
            wanted = None
        if wanted not in MODES:
            return 400, {"error": "InvalidMode", "message": f"send {{\"mode\": one of {', '.join(MODES)}}}"}
        ENFORCER.mode = wanted
        log.warning("iam: mode set to %s", wanted)
        return 200, {"mode": wanted}
    if method == "DELETE" and rest == "denials":
        return 200, {"cleared": ENFORCER.clear()}
    return 405, {"error": "MethodNotAllowed",
                 "message": f"{method} {path}: use GET or PUT /_localcloud/iam, DELETE /_localcloud/iam/denials"}
