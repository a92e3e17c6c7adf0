"""What a mapping template may reach: API Gateway's variables and the Java methods its reference uses.

API Gateway runs templates in a sandboxed Velocity: a template sees ``$input``, ``$util``,
``$context``, ``$stageVariables`` and the data they hold, and can call the documented methods
on them and the usual methods of Java strings, lists and maps; nothing else of the JVM.
airspeed-ext, on the other hand, resolves ``$x.name`` with Python's ``getattr``, so a template
could walk to ``$util.base64Encode.__globals__`` or call ``str.format`` (which reads attributes
itself) and reach the local cloud's whole process.

airspeed has no hook for this: its only attribute lookup is one ``getattr`` call in
``NameOrCall.calculate``, made after item lookup (``$map.key``) has found nothing. :func:`install`
shadows that module's ``getattr`` with :func:`template_getattr`, an allow-list by type:

- data (maps, lists, strings, numbers) gets Java's methods, implemented here with Java's
  semantics (``indexOf`` is -1 when absent, ``split``/``replaceAll`` take regexes...);
- the local cloud's own objects (``$input``, ``$util``) expose what their ``VTL_MEMBERS`` name;
- anything else (a method object passed around, a class) exposes nothing.

A name starting with ``_`` on anything but a map is refused with :class:`SandboxViolation`,
which the caller turns into API Gateway's answer to a broken template (500); on a map it is
just a missing key (JSON bodies may well have ``_id``). Any other unknown name is "not found",
as Velocity treats a missing property: the reference prints nothing.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from typing import Any

import airspeed.operators

from .java_values import JavaList, java_str


class SandboxViolation(Exception):
    """A template reached for something API Gateway's Velocity does not expose."""


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """Java's replacement syntax (``$1`` is group 1, ``\\$`` a dollar) for ``re.sub``."""
    def expand(match: re.Match[str]) -> str:
        out, i = [], 0
        while i < len(replacement):
            char = replacement[i]
            if char == "\\" and i + 1 < len(replacement):
                out.append(replacement[i + 1])
                i += 2
            elif char == "$" and i + 1 < len(replacement) and replacement[i + 1].isdigit():
                out.append(match.group(int(replacement[i + 1])) or "")
                i += 2
            else:
                out.append(char)
                i += 1
        return "".join(out)
    return expand


def _split(text: str, regex: str, limit: int = 0) -> list[str]:
    parts = re.split(regex, text, maxsplit=max(limit - 1, 0) if limit > 0 else 0)
    if limit == 0:  # Java drops trailing empty strings unless a limit is given
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def _index_of(text: str, sub: str, start: int = 0) -> int:
    return text.find(sub, start)


# java.lang.String, as templates call it (the receiver is the first argument).
STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": len,
    "isEmpty": lambda s: not s,
    "charAt": lambda s, i: s[i],
    "substring": lambda s, start, end=None: s[start:end],
    "indexOf": _index_of,
    "lastIndexOf": lambda s, sub: s.rfind(sub),
    "contains": lambda s, sub: str(sub) in s,
    "startsWith": lambda s, prefix: s.startswith(prefix),
    "endsWith": lambda s, suffix: s.endswith(suffix),
    "equals": lambda s, other: s == other,
    "equalsIgnoreCase": lambda s, other: isinstance(other, str) and s.lower() == other.lower(),
    "toLowerCase": str.lower,
    "toUpperCase": str.upper,
    "trim": lambda s: s.strip(" \t\n\r\x0b\x0c\x00"),
    "concat": lambda s, other: s + other,
    "replace": lambda s, old, new: s.replace(str(old), str(new)),
    "replaceAll": lambda s, regex, repl: re.sub(regex, _java_replacement(repl), s),
    "replaceFirst": lambda s, regex, repl: re.sub(regex, _java_replacement(repl), s, count=1),
    "matches": lambda s, regex: re.fullmatch(regex, s) is not None,
    "split": lambda s, regex, limit=0: JavaList(_split(s, regex, limit)),
    "toString": lambda s: s,
}

# java.util.Map, for maps the template builds itself ({} literals, $foreach) and JSON objects.
MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda m, key: m.get(key),
    "put": lambda m, key, value: (m.get(key), m.__setitem__(key, value))[0],
    "putAll": lambda m, other: m.update(other),
    "remove": lambda m, key: m.pop(key, None),
    "containsKey": lambda m, key: key in m,
    "containsValue": lambda m, value: value in m.values(),
    "keySet": lambda m: JavaList(m.keys()),
    "values": lambda m: JavaList(m.values()),
    "size": len,
    "isEmpty": lambda m: not m,
    "toString": java_str,
}

# java.util.List.
LIST_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda items, i: items[i],
    "set": lambda items, i, value: (items[i], items.__setitem__(i, value))[0],
    "add": lambda items, value: (items.append(value), True)[1],
    "contains": lambda items, value: value in items,
    "indexOf": lambda items, value: items.index(value) if value in items else -1,
    "size": len,
    "isEmpty": lambda items: not items,
    "toString": java_str,
}

SCALAR_METHODS: dict[str, Callable[..., Any]] = {
    "toString": java_str,
    "equals": lambda value, other: value == other,
}


def _methods_for(value: Any) -> dict[str, Callable[..., Any]] | None:
    if isinstance(value, str):
        return STRING_METHODS
    if isinstance(value, dict):
        return MAP_METHODS
    if isinstance(value, list):
        return LIST_METHODS
    if isinstance(value, (bool, int, float)):
        return SCALAR_METHODS
    return None


def template_getattr(value: Any, name: str, *default: Any) -> Any:
    """``getattr`` as airspeed's templates may use it: only what API Gateway's Velocity exposes."""
    if not isinstance(name, str):  # airspeed always passes the identifier it parsed
        raise SandboxViolation(f"attribute name {name!r} is not an identifier")
    if name.startswith("_") and not isinstance(value, dict):
        raise SandboxViolation(
            f"mapping template may not access '{name}': names starting with '_' are not part of "
            "API Gateway's $input, $util, $context or $stageVariables")
    members = getattr(type(value), "VTL_MEMBERS", None)
    if members is not None:
        if name in members:
            return builtins.getattr(value, name)
        raise AttributeError(name)
    methods = _methods_for(value)
    if methods is not None and name in methods:
        method = methods[name]
        return lambda *args: method(value, *args)
    raise AttributeError(name)  # not exposed: Velocity treats it as a missing property


def install() -> None:
    """Make airspeed's attribute lookup go through :func:`template_getattr` (idempotent).

    A module global named ``getattr`` shadows the builtin for that module's code only; airspeed
    is used by nothing else in the local cloud. ``test_vtl_sandbox`` holds airspeed to having
    this one lookup, so an upgrade that adds another fails the tests instead of opening a hole.
    """
    airspeed.operators.getattr = template_getattr  # type: ignore[attr-defined]
