"""Creates each function's role idempotently, with its inline least-privilege policy."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import policies
from .aws_errors import error_code
from .workbook import Workbook

POLICY_NAME = "least-privilege"
# In a shared AWS account the instructor may require every learner's role to carry a permissions
# boundary (docs/instructor.md): its name or ARN, from the environment.
BOUNDARY_VARIABLE = "WORKBOOK_PERMISSIONS_BOUNDARY"
T = TypeVar("T")


def permissions_boundary(wb: Workbook) -> str | None:
    """The ARN of the managed policy new roles get as their permissions boundary, or None."""
    value = os.environ.get(BOUNDARY_VARIABLE, "").strip()
    if not value or value.startswith("arn:"):
        return value or None
    return f"arn:{wb.names.partition}:iam::{wb.account_id}:policy/{value}"


def ensure_role(wb: Workbook, key: str) -> str:
    """Create (or bring up to date) the role for ``key`` ("image_uploader", ..., "state_machine")."""
    iam = wb.client("iam")
    name = wb.names.role(key)
    service = "states" if key == "state_machine" else "lambda"
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=policies.trust_policy(wb.names, service))
    except iam.exceptions.NoSuchEntityException:
        boundary = permissions_boundary(wb)
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=policies.trust_policy(wb.names, service),
            Description=f"{name}: only what the workbook's {key.replace('_', ' ')} needs",
            Tags=wb.names.tag_list(),
            **({"PermissionsBoundary": boundary} if boundary else {}),
        )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME,
                        PolicyDocument=json.dumps(policies.FOR_ROLE[key](wb.names)))
    return arn


def policy_of(wb: Workbook, key: str, name: str = POLICY_NAME) -> dict[str, Any]:
    """The inline policy as stored, to show the learner what the role may do (``name``: another of its policies)."""
    doc = wb.client("iam").get_role_policy(RoleName=wb.names.role(key), PolicyName=name)["PolicyDocument"]
    return json.loads(doc) if isinstance(doc, str) else doc


def delete_role(wb: Workbook, key: str) -> bool:
    iam = wb.client("iam")
    name = wb.names.role(key)
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def retry_while_propagating(wb: Workbook, call: Callable[[], T], *, seconds: float = 60) -> T:
    """Run ``call``, retrying while AWS has not yet propagated a new role or policy.

    IAM is eventually consistent: for several seconds after CreateRole, Lambda answers
    "The role defined for the function cannot be assumed by Lambda" and Step Functions
    "Neither the global service principal states.amazonaws.com, nor the regional one is
    authorized to assume the provided role". The local cloud has no such delay.
    """
    deadline = time.monotonic() + (seconds if not wb.is_local else 0)
    delay = 2.0
    while True:
        try:
            return call()
        except Exception as exc:  # botocore ClientError; anything else is re-raised below
            code = error_code(exc)
            message = str(exc)
            propagating = code in ("InvalidParameterValueException", "AccessDeniedException") and (
                "cannot be assumed" in message or "not authorized to assume" in message
                or "assume the provided role" in message
            )
            if not propagating or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 10.0)
