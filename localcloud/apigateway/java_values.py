"""Values as a mapping template sees them: Java's maps and lists, printed the way Java prints them.

AWS evaluates templates in Java: a JSON object from ``$input.path`` prints as ``{name=value}``
(a Java Map), a JSON array as JSON text (json-smart's JSONArray), ``true``/``false``/``null``
in lower case, and maps and lists have the Java methods templates call (``size()``,
``keySet()``, ``get()``...). Both the template engine (``vtl.py``) and its sandbox
(``vtl_sandbox.py``) use these, so they live apart from either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def java_str(value: Any) -> str:
    """How a value prints inside a Java collection's toString."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and not isinstance(value, VtlMap):
        return str(VtlMap.wrap(value))
    if isinstance(value, list) and not isinstance(value, VtlList):
        return str(VtlList.wrap(value))
    return str(value)


def plain(value: Any) -> Any:
    """Back to plain JSON types, for serialising."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def to_vtl(value: Any) -> Any:
    """Wrap parsed JSON so templates can call Java collection methods on it."""
    if isinstance(value, dict):
        return VtlMap.wrap(value)
    if isinstance(value, list):
        return VtlList.wrap(value)
    return value


class VtlMap(dict):
    """A JSON object / Java Map: prints as ``{a=1, b=x}``."""

    @classmethod
    def wrap(cls, value: Mapping[str, Any]) -> VtlMap:
        return cls({key: to_vtl(item) for key, item in value.items()})

    def __str__(self) -> str:
        return "{" + ", ".join(f"{key}={java_str(item)}" for key, item in self.items()) + "}"

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802 - Java method name, called from templates
        return not self

    def keySet(self) -> JavaList:  # noqa: N802
        return JavaList(self.keys())

    def containsKey(self, key: Any) -> bool:  # noqa: N802
        return key in self

    def put(self, key: Any, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous


class JavaList(list):
    """A Java List or Set (``keySet()``): prints as ``[a, b]``."""

    def __str__(self) -> str:
        return "[" + ", ".join(java_str(item) for item in self) + "]"

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def get(self, index: int) -> Any:
        return self[index]

    def contains(self, value: Any) -> bool:
        return value in self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True


class VtlList(JavaList):
    """A JSON array: prints as compact JSON, like json-smart's JSONArray."""

    @classmethod
    def wrap(cls, value: list[Any]) -> VtlList:
        return cls(to_vtl(item) for item in value)

    def __str__(self) -> str:
        return json.dumps(plain(self), separators=(",", ":"), ensure_ascii=False)
