"""The POST policy: decoded and enforced as S3 does, with S3's error codes and messages.

A policy is base64 JSON ``{"expiration": ISO 8601, "conditions": [...]}``. A condition is
``{"field": "value"}`` or ``["eq", "$field", "value"]`` (exact match),
``["starts-with", "$field", "prefix"]`` (an empty prefix allows anything; a comma-separated
``Content-Type`` must match in every item) or ``["content-length-range", min, max]`` (the
size of the file, both ends included). Field names are case-insensitive, values are not.
``bucket`` is the bucket in the URL, ``key`` and every other field are compared after
``${filename}`` is replaced. Every field of the form except the exempt ones (``file``,
``policy``, ``x-amz-signature``, Signature Version 2's ``signature`` and
``AWSAccessKeyId``, ``x-ignore-*``) must be named by a condition, and so must ``bucket``
even though it is not a form field.

Order of the checks, as S3 reports them: a malformed policy (400 InvalidPolicyDocument),
then expiry (403), then fields no condition names (403), then each condition in the
policy's order (403, or 400 EntityTooSmall/EntityTooLarge for the size).

Pure: no moto, no HTTP. Sources are listed in ``docs/localcloud/fidelity/s3.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import exceptions

# Fields that need no condition. Signature Version 4 exempts x-amz-signature, Version 2 its
# signature and access key id; the other credential fields (x-amz-credential, x-amz-date,
# x-amz-algorithm, x-amz-security-token) must be named like any field, and SDKs add them.
EXEMPT_FIELDS = frozenset({"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"})
IGNORED_PREFIX = "x-ignore-"
# A policy-signed form carries a complete set of one version's fields. S3 names the first
# missing one with this spelling.
SIGV4_FIELDS = (("x-amz-signature", "X-Amz-Signature"), ("x-amz-algorithm", "X-Amz-Algorithm"),
                ("x-amz-credential", "X-Amz-Credential"), ("x-amz-date", "X-Amz-Date"))
SIGV2_FIELDS = (("signature", "Signature"), ("awsaccesskeyid", "AWSAccessKeyId"))


@dataclass(frozen=True)
class Condition:
    operation: str  # "eq", "starts-with" or "content-length-range"
    field: str = ""  # lower-cased, without "$"; empty for content-length-range
    value: str = ""
    minimum: int = 0
    maximum: int = 0
    text: str = ""  # how S3 quotes the condition when it fails


@dataclass(frozen=True)
class Policy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    def covered(self) -> set[str]:
        return {c.field for c in self.conditions if c.field}


def _quote(operation: str, field: str, value: str) -> str:
    return json.dumps([operation, field, value], ensure_ascii=False)


def _integer(value: Any, condition: Any) -> int:
    if isinstance(value, bool):
        raise exceptions.invalid_policy("Invalid JSON.")
    if isinstance(value, int):
        return value
    if isinstance(value, str):  # S3 also takes quoted integers
        try:
            return int(value, 10)
        except ValueError:
            raise exceptions.condition_failed(json.dumps(condition, ensure_ascii=False)) from None
    raise exceptions.invalid_policy("Invalid JSON.")


def _condition(raw: Any) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise exceptions.invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise exceptions.invalid_policy("Invalid Simple-Condition: value must be a string.")
        name = name[1:] if name.startswith("$") else name
        return Condition("eq", name.lower(), value, text=_quote("eq", f"${name}", value))
    if not isinstance(raw, list):
        raise exceptions.invalid_policy("Invalid condition test: must be a List or Object.")
    if not raw:
        raise exceptions.invalid_policy("Invalid Condition: missing operation identifier.")
    operation = raw[0]
    if not isinstance(operation, str):
        raise exceptions.invalid_policy("Invalid JSON.")
    if operation in ("eq", "starts-with"):
        if len(raw) != 3:
            raise exceptions.invalid_policy(f"Invalid {operation}: wrong number of arguments.")
        reference, value = raw[1], raw[2]
        if not isinstance(reference, str) or isinstance(value, (bool, list, dict)) or value is None:
            raise exceptions.invalid_policy("Invalid JSON.")
        if not reference.startswith("$") or len(reference) == 1:
            raise exceptions.condition_failed(json.dumps(raw, ensure_ascii=False))
        value = value if isinstance(value, str) else json.dumps(value)
        return Condition(operation, reference[1:].lower(), value, text=_quote(operation, reference, value))
    if operation == "content-length-range":
        if len(raw) != 3:
            raise exceptions.invalid_policy(f"Invalid {operation}: wrong number of arguments.")
        return Condition(operation, minimum=_integer(raw[1], raw), maximum=_integer(raw[2], raw),
                         text=json.dumps(raw, ensure_ascii=False))
    raise exceptions.invalid_policy(f"Invalid Condition: unknown operation '{operation}'.")


def _expiration(value: Any) -> datetime:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        raise exceptions.invalid_policy(f"Invalid 'expiration' value: '{value}'")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def decode(encoded: str) -> Policy:
    """The policy of a form's ``policy`` field, or S3's InvalidPolicyDocument saying what is wrong."""
    text = encoded.strip()
    if not text:
        raise exceptions.invalid_policy("Expecting '{' but found End-of-Input")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise exceptions.invalid_policy("invalid Base64 encoding.") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise exceptions.invalid_policy("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise exceptions.invalid_policy("Invalid JSON.")
    if document.get("expiration") in (None, ""):
        raise exceptions.invalid_policy("Policy missing expiration.")
    conditions = document.get("conditions")
    if conditions is None or conditions == []:
        raise exceptions.invalid_policy("Policy missing conditions.")
    if not isinstance(conditions, list):
        raise exceptions.invalid_policy("Invalid 'conditions' value: must be a List.")
    expiration = _expiration(document["expiration"])
    return Policy(expiration, tuple(_condition(c) for c in conditions))


def check_signature_fields(names: list[str]) -> None:
    """A policy comes with one signature version's complete set of fields (S3 checks their
    presence before the policy; the local cloud never checks the signature itself)."""
    present = set(names)
    for fields in (SIGV4_FIELDS, SIGV2_FIELDS):
        if any(name in present for name, _ in fields):
            for name, spelled in fields:
                if name not in present:
                    raise exceptions.missing_field(spelled)
            return
    raise exceptions.access_denied()


def _starts_with(field: str, value: str, prefix: str) -> bool:
    if field == "content-type" and "," in value:
        return all(item.strip().startswith(prefix) for item in value.split(","))
    return value.startswith(prefix)


def uncovered(policy: Policy, names: list[str]) -> list[str]:
    """The form's fields (and ``bucket``) that no condition names, in the form's order."""
    covered = policy.covered()
    inputs = ["bucket", *(n for n in names if n != "bucket")]
    return [n for n in inputs
            if n not in covered and n not in EXEMPT_FIELDS and not n.startswith(IGNORED_PREFIX)]


def enforce(policy: Policy, *, bucket: str, fields: Mapping[str, str], file_size: int, now: datetime) -> None:
    """Raise S3's error for the first thing the form breaks, or return when it satisfies the policy.

    ``fields``: the form's fields by lower-cased name, ``${filename}`` already replaced.
    """
    if now > policy.expiration:
        raise exceptions.policy_expired()
    extra = uncovered(policy, list(fields))
    if extra:
        raise exceptions.extra_input_fields(extra)
    for condition in policy.conditions:
        if condition.operation == "content-length-range":
            if file_size < condition.minimum:
                raise exceptions.entity_too_small(file_size, condition.minimum)
            if file_size > condition.maximum:
                raise exceptions.entity_too_large(file_size, condition.maximum)
            continue
        actual = bucket if condition.field == "bucket" else fields.get(condition.field, "")
        if condition.operation == "eq":
            ok = actual == condition.value
        else:
            ok = _starts_with(condition.field, actual, condition.value)
        if not ok:
            raise exceptions.condition_failed(condition.text)
