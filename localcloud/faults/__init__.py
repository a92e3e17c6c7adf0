"""Fault injection: make chosen AWS calls fail on demand, as AWS fails them.

A *rule* names a call (service and operation, optionally the function, table or bucket it
is about), an AWS error code, and how often to answer with it: ``count`` times and then the
rule expires, or with a ``probability`` drawn from its own seeded generator. The front door
(``server.py``) asks :func:`maybe_fail` about every signed request before moto sees it;
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

Layout: ``api.py`` what client and server share (the admin path, :class:`FaultRuleError`,
:func:`describe`); ``client.py`` ``inject``, ``rules`` and ``clear``; ``ruleset.py`` the rules
and :data:`RULES`; ``calls.py`` which call a request makes; ``responses.py`` the error on the
wire; ``endpoint.py`` the admin endpoints.

Only the client side is imported with this package: notebooks and the CLI never load the
server's modules. The server's names (``RULES``, ``maybe_fail``, ``admin``, ...) are still
reachable here, loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .api import ADMIN_PATH, FaultRuleError, describe
from .client import clear, inject, rules

# Server-side name -> the submodule that defines it, imported on first use.
_SERVER_SIDE = {
    "KNOWN_ERRORS": "ruleset", "COMMON_ERRORS": "ruleset", "RULES": "ruleset", "Rule": "ruleset",
    "Rules": "ruleset", "Call": "ruleset", "make_rule": "ruleset",
    "identify": "calls", "signing_service": "calls",
    "error_response": "responses", "maybe_fail": "responses",
    "admin": "endpoint",
}

__all__ = ["ADMIN_PATH", "FaultRuleError", "clear", "describe", "inject", "rules", *_SERVER_SIDE]


def __getattr__(name: str) -> Any:
    module = _SERVER_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the front door asks for maybe_fail on every request
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SERVER_SIDE))
