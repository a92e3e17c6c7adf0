"""The server side of ``client.py``: the ``/_localcloud/faults`` admin endpoints over :data:`RULES`.

Named ``endpoint`` rather than ``admin`` so that the package's ``faults.admin`` stays this
function and is never shadowed by a submodule of the same name.
"""

from __future__ import annotations

import json
from typing import Any

from .api import ADMIN_PATH, FaultRuleError
from .ruleset import RULES


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
