"""IAM, enforced: role (and IAM user) credentials act only as their policies allow.

Each Lambda execution environment gets temporary credentials for its function's role, and
the state machine's Lambda calls use the state machine's role, as on AWS. The front door
(``server.py``) asks :data:`enforce.ENFORCER` about every call signed with such
credentials; API Gateway and S3 ask it whether a function's resource-based policy lets them
invoke it. The learner's own calls (the instance's key) are the account owner's and are not
evaluated.

Layout (moto-like): ``policy.py`` IAM's evaluation logic (pure), ``calls.py`` which actions
a request needs on which ARNs, ``principals.py`` the policies of a caller and of a resource,
read from moto's state, ``enforce.py`` the verdict, AWS's error and the denial log. This
module is the client side (notebooks, tests, the CLI) and imports neither moto nor the server::

    from localcloud import iam
    iam.denials(endpoint)            # what was refused, newest last, with AWS's message
    iam.set_mode(endpoint, "report") # or "enforce", "off"

See ``docs/localcloud/fidelity/iam.md`` for what is evaluated and what is not.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

ADMIN_PATH = "/_localcloud/iam"
MODES = ("enforce", "report", "off")


def _request(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    from ..auth import client

    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(client.signed_request(endpoint, method, path, data), timeout=10) as response:
        return json.loads(response.read() or b"null")


def status(endpoint: str) -> dict[str, Any]:
    """``{"mode": ..., "denials": [...]}``."""
    return _request(endpoint, "GET", ADMIN_PATH)


def mode(endpoint: str) -> str:
    return status(endpoint)["mode"]


def set_mode(endpoint: str, new_mode: str) -> str:
    """Switch enforcement: ``enforce`` (refuse), ``report`` (log what would be refused) or ``off``."""
    if new_mode not in MODES:
        raise ValueError(f"IAM mode {new_mode!r}: use one of {', '.join(MODES)}")
    return _request(endpoint, "PUT", ADMIN_PATH, {"mode": new_mode})["mode"]


def denials(endpoint: str) -> list[dict[str, Any]]:
    """What was denied (or, when reporting, would have been), oldest first: principal, action,
    resource, reason, service, operation, AWS's message, and whether it was enforced."""
    return status(endpoint)["denials"]


def clear_denials(endpoint: str) -> int:
    return _request(endpoint, "DELETE", f"{ADMIN_PATH}/denials")["cleared"]


def describe(denial: dict[str, Any]) -> str:
    """One line: ``denied lambda:InvokeFunction on ARN for ROLE (because ...)``."""
    verb = "denied" if denial.get("enforced") else "would deny"
    who = denial["principal"].split("/")[1] if "assumed-role/" in denial["principal"] else denial["principal"]
    return f"{verb} {denial['action']} on {denial['resource']} for {who}: {denial['message']}"
