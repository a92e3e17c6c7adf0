"""The client side of fault injection, used by notebooks (through ``helpers.local``), tests and
the CLI: add, list and clear the rules of the local cloud at an endpoint.

Imports neither moto nor the rules engine: a notebook pays only for a signed HTTP request.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .api import ADMIN_PATH, FaultRuleError


def _request(endpoint: str, method: str, path: str = ADMIN_PATH, body: Any = None) -> Any:
    from ..auth import client as signing

    data = None if body is None else json.dumps(body).encode()
    request = signing.signed_request(endpoint, method, path, data)
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
