"""Who is asking, and which policies speak about it: read from moto's IAM, Lambda and S3 state.

An assumed-role ARN (what a Lambda environment's or a state machine's credentials carry)
names its role; the role's inline and attached managed policies are its identity-based
policies. An IAM user's are its own, its groups' and their attached ones. A deleted role
has none, so nothing is allowed, as on AWS. Resource-based policies: a Lambda function's
(AddPermission statements) and an S3 bucket's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .. import config

_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$")
_USER = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d+):user/(?:.*/)?(?P<user>[^/]+)$")


@dataclass(frozen=True)
class Principal:
    arn: str  # as it appears in AWS's messages: arn:aws:sts::A:assumed-role/ROLE/SESSION
    account: str
    policies: tuple[dict[str, Any], ...]
    context: dict[str, Any] = field(default_factory=dict)  # aws:PrincipalArn, aws:PrincipalTag/..., ...


def is_evaluated(principal_arn: str) -> bool:
    """Role sessions and IAM users are evaluated; the instance's own key is the account's owner."""
    return bool(_ASSUMED_ROLE.match(principal_arn) or _USER.match(principal_arn))


def _iam_backend(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["global"]


def _managed_documents(attached: dict[str, Any]) -> list[dict[str, Any]]:
    from .policy import parse

    documents = []
    for managed in list(attached.values()):
        version = next((v for v in managed.versions if v.is_default), None)
        if version is not None:
            documents.append(parse(version.document))
    return documents


def _inline_documents(inline: dict[str, Any]) -> list[dict[str, Any]]:
    from .policy import parse

    return [parse(document) for document in list(inline.values())]


def _tags(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):  # moto keeps {key: {"Key": k, "Value": v}}
        return {str(v.get("Key", k)) if isinstance(v, dict) else str(k):
                str(v.get("Value", "")) if isinstance(v, dict) else str(v) for k, v in tags.items()}
    if isinstance(tags, list):
        return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, dict)}
    return {}


def resolve(principal_arn: str) -> Principal:
    """The principal's identity-based policies and request context."""
    from moto.iam.exceptions import NoSuchEntity, NotFoundException

    match = _ASSUMED_ROLE.match(principal_arn)
    if match:
        account, role_name = match["account"], match["role"]
        role_arn = f"arn:{match['partition']}:iam::{account}:role/{role_name}"
        context: dict[str, Any] = {"aws:PrincipalArn": role_arn, "aws:PrincipalAccount": account,
                                   "aws:PrincipalType": "AssumedRole", "aws:userid": f"{role_name}:{match['session']}"}
        try:
            role = _iam_backend(account).get_role(role_name)
        except (NotFoundException, NoSuchEntity):
            return Principal(principal_arn, account, (), context)
        context["aws:userid"] = f"{role.id}:{match['session']}"
        context.update({f"aws:PrincipalTag/{k}": v for k, v in _tags(role.tags).items()})
        policies = _inline_documents(role.policies) + _managed_documents(role.managed_policies)
        return Principal(principal_arn, account, tuple(policies), context)
    match = _USER.match(principal_arn)
    if match:
        account, user_name = match["account"], match["user"]
        context = {"aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": account, "aws:PrincipalType": "User",
                   "aws:username": user_name}
        backend = _iam_backend(account)
        try:
            user = backend.get_user(user_name)
        except (NotFoundException, NoSuchEntity):
            return Principal(principal_arn, account, (), context)
        context["aws:userid"] = user.id
        context.update({f"aws:PrincipalTag/{k}": v for k, v in _tags(getattr(user, "tags", {})).items()})
        policies = _inline_documents(user.policies) + _managed_documents(user.managed_policies)
        for group in backend.get_groups_for_user(user_name):
            policies += _inline_documents(group.policies) + _managed_documents(group.managed_policies)
        return Principal(principal_arn, account, tuple(policies), context)
    raise ValueError(f"not an assumed-role or IAM user ARN: {principal_arn}")


def lambda_policy(function_arn: str) -> dict[str, Any] | None:
    """The function's resource-based policy (its AddPermission statements), or None."""
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        return None
    try:
        backend = get_backend(parts[4], parts[3])
        function = backend.get_function(":".join(parts[:7]), parts[7] if len(parts) > 7 else None)
    except Exception:  # no such function: the call itself will say so
        return None
    if not function.policy.statements:
        return None
    return {"Version": "2012-10-17", "Statement": list(function.policy.statements)}


def bucket_policy(bucket: str) -> dict[str, Any] | None:
    """The bucket's policy, or None."""
    from moto.s3.models import s3_backends

    found = s3_backends[config.ACCOUNT_ID]["aws"].buckets.get(bucket)
    if found is None or not found.policy:
        return None
    text = found.policy.decode() if isinstance(found.policy, bytes) else str(found.policy)
    try:
        return json.loads(text)
    except ValueError:
        return None


def object_exists(bucket: str, key: str) -> bool | None:
    """Whether the key is in the bucket; None when the bucket itself is missing."""
    from moto.s3.models import s3_backends

    found = s3_backends[config.ACCOUNT_ID]["aws"].buckets.get(bucket)
    if found is None:
        return None
    return found.keys.get(key) is not None
