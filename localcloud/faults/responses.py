"""The error on the wire: a fired rule answered in the service's own protocol, so boto3 raises
the ``ClientError`` it would raise against AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import wire_errors
from ..wsgi_input import buffer_body
from .calls import identify
from .ruleset import RULES, Call, Rule, Rules


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
