"""IAM's policy evaluation logic for one account: which statements match a request, and the verdict.

A statement matches when its ``Action`` (or ``NotAction``), its ``Resource`` (or
``NotResource``), for a resource-based policy its ``Principal``, and every condition match
the request. Wildcards ``*`` and ``?``: actions case-insensitively; ARNs component by
component, as ``ArnLike`` and the ``Resource`` element compare them (the last component,
the resource, may contain colons and ``*`` spans them). Policy variables (``${aws:username}``,
``${aws:PrincipalTag/team}``, ``${*}``...) are replaced from the request context in
``Resource`` and condition values; a statement whose variable the context lacks does not
match (IAM's rule), unless the variable has a default (``${aws:x, 'dflt'}``).

The verdict (:func:`evaluate`), for a request inside one account: an explicit Deny in any
policy wins; else an Allow in an identity-based policy or in the resource's policy allows;
else the implicit deny. The :class:`Decision` says which, so the error can be worded as
AWS words it.

Condition operators: String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals,
Arn(Not)Like, Bool, Null, Numeric*, each with ``IfExists`` and with the ``ForAnyValue:`` /
``ForAllValues:`` set prefixes. Any other operator is :class:`Unsupported`: the statement is
treated as not matching (so an Allow grants nothing and a Deny denies nothing) and the
caller logs it. A negated operator holds when its key is absent, a plain one does not.

Why not moto's evaluator (``moto/core/access_control.py``, ``IAMPolicy.is_action_permitted``):
it substitutes no policy variables, knows only StringEquals (other operators always hold),
lets a condition whose key is absent pass, turns an Allow whose condition fails into a Deny,
and has no resource-based policies or principals.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Context = Mapping[str, Any]  # condition key -> a string, or a list of strings for a multivalued key

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
            "NumericNotEquals")


_OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
              "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool", "Null",
              "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
              "NumericGreaterThanEquals"}


class Unsupported(ValueError):
    """A condition operator (or policy element) this evaluator does not evaluate."""


class _MissingVariable(Exception):
    """A policy variable the request context does not have."""


@dataclass(frozen=True)
class Request:
    """One authorisation question: may ``principal`` do ``action`` on ``resource``?"""

    action: str  # "dynamodb:UpdateItem"
    resource: str  # an ARN, or "*" for an action without a resource type
    principal: str = ""  # the caller's ARN (an assumed-role ARN), or "" for a service principal
    service_principal: str = ""  # "apigateway.amazonaws.com" when a service acts on its own behalf
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # "identity-allow", "resource-allow", "identity-deny", "resource-deny" or "implicit-deny"
    reason: str
    statement: str = ""  # the Sid (or position) of the statement that decided, when one did
    unsupported: tuple[str, ...] = ()  # what could not be evaluated (statements treated as not matching)


def parse(document: str | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as a dict; moto keeps them as (sometimes URL-quoted) JSON strings."""
    if isinstance(document, Mapping):
        return dict(document)
    return _parse_text(document)


@functools.lru_cache(maxsize=512)
def _parse_text(text: str) -> dict[str, Any]:
    from urllib.parse import unquote

    text = text.strip()
    if not text.startswith("{"):
        text = unquote(text)
    return json.loads(text)


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return list(found) if isinstance(found, list) else [found]


def _listed(element: Any) -> list[Any]:
    return list(element) if isinstance(element, list) else [element]


def _lookup(context: Context, key: str) -> str | None:
    """The context's spelling of ``key`` (condition key names are case-insensitive)."""
    wanted = key.lower()
    return next((k for k in context if k.lower() == wanted), None)


def _substitute(text: str, context: Context) -> str:
    def value(match: re.Match[str]) -> str:
        inner = match[1]
        if inner in _ESCAPES:
            return _ESCAPES[inner]
        name, _, default = inner.partition(",")
        found = _lookup(context, name.strip())
        if found is None or isinstance(context[found], list):
            default = default.strip()
            if default.startswith("'") and default.endswith("'") and len(default) >= 2:
                return default[1:-1]
            raise _MissingVariable(name)
        return str(context[found])

    return _VARIABLE.sub(value, text) if "${" in text else text


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL if case else re.DOTALL | re.IGNORECASE)


def glob(pattern: str, value: str, *, case: bool = True) -> bool:
    return _glob_regex(pattern, case).fullmatch(value) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """``ArnLike``'s rule: the six colon-separated components compared one by one."""
    if pattern == "*":
        return True
    wanted, found = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(found) != 6:
        return glob(pattern, arn)
    return all(glob(w, f) for w, f in zip(wanted, found, strict=True))


def _numbers(values: list[str]) -> list[float]:
    return [float(v) for v in values]


def _compare(base: str, actual: str, values: list[str]) -> bool:
    if base in ("StringEquals", "ArnEquals"):
        return actual in values
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in values
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in [v.lower() for v in values]
    if base == "StringNotEqualsIgnoreCase":
        return actual.lower() not in [v.lower() for v in values]
    if base == "StringLike":
        return any(glob(v, actual) for v in values)
    if base == "StringNotLike":
        return not any(glob(v, actual) for v in values)
    if base == "ArnLike":
        return any(arn_like(v, actual) for v in values)
    if base == "ArnNotLike":
        return not any(arn_like(v, actual) for v in values)
    if base == "Bool":
        return actual.lower() in [v.lower() for v in values]
    if base.startswith("Numeric"):
        try:
            number, wanted = float(actual), _numbers(values)
        except ValueError:
            return False
        test = {"NumericEquals": lambda w: number == w, "NumericNotEquals": lambda w: number != w,
                "NumericLessThan": lambda w: number < w, "NumericLessThanEquals": lambda w: number <= w,
                "NumericGreaterThan": lambda w: number > w,
                "NumericGreaterThanEquals": lambda w: number >= w}.get(base)
        if test is None:
            raise Unsupported(base)
        return all(test(w) for w in wanted) if base == "NumericNotEquals" else any(test(w) for w in wanted)
    raise Unsupported(base)


def condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    """One condition key of one operator block."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise Unsupported(operator)
    found = _lookup(context, key)
    if base == "Null":
        return (found is None) == (str(_listed(expected)[0]).lower() == "true")
    if found is None:
        if qualifier == "ForAllValues":
            return True  # an empty set: every one of its values matches
        return if_exists or (base in _NEGATED and qualifier != "ForAnyValue")
    values = [_substitute(str(v), context) for v in _listed(expected)]
    actual = context[found]
    if qualifier == "ForAnyValue":
        return any(_compare(base, str(a), values) for a in _listed(actual))
    if qualifier == "ForAllValues":
        return all(_compare(base, str(a), values) for a in _listed(actual))
    if isinstance(actual, list):  # a multivalued key without a set operator: IAM compares none
        return base in _NEGATED
    return _compare(base, str(actual), values)


def _principal_matches(element: Any, request: Request) -> bool:
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return False
    for kind, wanted in element.items():
        for value in _listed(wanted):
            if kind == "Service" and request.service_principal and value == request.service_principal:
                return True
            if kind == "AWS" and request.principal and not request.service_principal:
                if value == "*" or value == request.principal:
                    return True
                account = request.principal.split(":")[4] if request.principal.count(":") >= 5 else ""
                if value in (account, f"arn:aws:iam::{account}:root"):
                    return True
                if _role_of(request.principal) == value:
                    return True
    return False


def _role_of(assumed_role_arn: str) -> str:
    """arn:aws:sts::A:assumed-role/NAME/SESSION -> arn:aws:iam::A:role/NAME (a policy names the role)."""
    match = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/", assumed_role_arn)
    return f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else ""


def statement_matches(statement: Mapping[str, Any], request: Request, *, resource_policy: bool = False) -> bool:
    """Whether one statement applies to the request; raises :class:`Unsupported`."""
    try:
        if "Action" in statement:
            if not any(glob(a, request.action, case=False) for a in _listed(statement["Action"])):
                return False
        elif any(glob(a, request.action, case=False) for a in _listed(statement.get("NotAction", []))):
            return False
        if "Resource" in statement:
            if not any(arn_like(_substitute(r, request.context), request.resource)
                       for r in _listed(statement["Resource"])):
                return False
        elif "NotResource" in statement:
            if any(arn_like(_substitute(r, request.context), request.resource)
                   for r in _listed(statement["NotResource"])):
                return False
        if resource_policy:
            if "NotPrincipal" in statement:
                raise Unsupported("NotPrincipal")
            if not _principal_matches(statement.get("Principal"), request):
                return False
        return all(condition_holds(operator, key, expected, request.context)
                   for operator, block in (statement.get("Condition") or {}).items()
                   for key, expected in block.items())
    except _MissingVariable:
        return False


def _label(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"statement {index + 1}")


def evaluate(identity_policies: list[Mapping[str, Any]], request: Request,
             resource_policy: Mapping[str, Any] | None = None) -> Decision:
    """IAM's verdict on ``request`` within one account (no SCPs, boundaries or session policies)."""
    unsupported: list[str] = []
    allow: tuple[str, str] | None = None
    sources = [(p, False) for p in identity_policies] + ([(resource_policy, True)] if resource_policy else [])
    for policy, is_resource in sources:
        for index, statement in enumerate(statements(policy)):
            try:
                matched = statement_matches(statement, request, resource_policy=is_resource)
            except Unsupported as exc:
                unsupported.append(f"{_label(statement, index)}: {exc}")
                continue
            if not matched:
                continue
            if statement.get("Effect") == "Deny":
                return Decision(False, "resource-deny" if is_resource else "identity-deny",
                                _label(statement, index), tuple(unsupported))
            if statement.get("Effect") == "Allow" and allow is None:
                allow = ("resource-allow" if is_resource else "identity-allow", _label(statement, index))
    if allow:
        return Decision(True, allow[0], allow[1], tuple(unsupported))
    return Decision(False, "implicit-deny", "", tuple(unsupported))


def allowed(policy: Mapping[str, Any], action: str, resource: str, context: Context | None = None) -> bool:
    """Whether ``policy`` alone allows ``action`` on ``resource`` in this request context."""
    return evaluate([policy], Request(action, resource, context=context or {})).allowed
