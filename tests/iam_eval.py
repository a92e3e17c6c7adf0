"""A small evaluator of IAM identity policies, for testing the learner policy (docs/instructor/).

It decides one request the way IAM's policy evaluation logic does for a single policy: an
explicit Deny wins, else an Allow that matches, else the implicit deny. A statement matches
when its Action (or NotAction) and Resource match, wildcards ``*`` and ``?`` included (actions
case-insensitively), and every condition holds. Policy variables (``${aws:username}``,
``${aws:PrincipalTag/key}``) are replaced from the request context in Resource and in condition
values; a statement whose variable the context lacks does not match. Condition operators:
StringEquals, StringNotEquals, StringLike, StringNotLike, ArnLike, ArnEquals, Null, each with
``IfExists``; a negated operator holds when its key is absent, a plain one does not.

Why not moto's evaluator (moto/iam/access_control.py, IAMPolicy.is_action_permitted): it
substitutes no policy variables, knows only StringEquals (other operators always hold), lets a
condition whose key is absent pass, and turns an Allow whose condition fails into a Deny.
"""

from __future__ import annotations

import re
from typing import Any

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")


class Missing(Exception):
    """A policy variable the request context does not have."""


def _substitute(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        key = _lookup(context, match[1])
        if key is None:
            raise Missing(match[1])
        return context[key]

    return _VARIABLE.sub(value, text)


def _lookup(context: dict[str, str], key: str) -> str | None:
    """The context's spelling of ``key`` (condition keys are case-insensitive)."""
    return next((k for k in context if k.lower() == key.lower()), None)


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _listed(element: Any) -> list[str]:
    return element if isinstance(element, list) else [element]


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    found = _lookup(context, key)
    if base == "Null":
        return (found is None) == (str(_listed(expected)[0]).lower() == "true")
    if found is None:
        return if_exists or base in _NEGATED
    actual = context[found]
    values = [_substitute(str(v), context) for v in _listed(expected)]
    if base in ("StringEquals", "ArnEquals"):
        return actual in values
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in values
    if base in ("StringLike", "ArnLike"):
        return any(_glob(v, actual) for v in values)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(_glob(v, actual) for v in values)
    raise NotImplementedError(f"condition operator {operator} is not evaluated here")


def _matches(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    try:
        if "Action" in statement:
            if not any(_glob(a, action, case=False) for a in _listed(statement["Action"])):
                return False
        elif any(_glob(a, action, case=False) for a in _listed(statement["NotAction"])):
            return False
        if not any(_glob(_substitute(r, context), resource) for r in _listed(statement["Resource"])):
            return False
        return all(_condition_holds(operator, key, expected, context)
                   for operator, block in statement.get("Condition", {}).items()
                   for key, expected in block.items())
    except Missing:
        return False


def allowed(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """Whether ``policy`` alone allows ``action`` on ``resource`` in this request context."""
    context = context or {}
    statements = _listed(policy["Statement"])
    if any(s["Effect"] == "Deny" and _matches(s, action, resource, context) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, resource, context) for s in statements)
