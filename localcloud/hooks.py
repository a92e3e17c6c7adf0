"""How the local cloud reaches into moto: every replacement of a moto internal goes through here.

A :class:`Hook` names a moto attribute the local cloud replaces or relies on, with the
parameters it was written against. Each service package lists what it does with its hooks in
one module-level ``HOOKS`` list of :class:`Entry` (:func:`check`, :func:`replace`,
:func:`wrap`); ``server.py`` collects those lists and passes them to :func:`install`, which
first checks every hook: when a moto upgrade changed one of them, the server refuses to start
with a message naming it, instead of emulating the wrong thing quietly.
``tests/localcloud/test_hooks.py`` checks the same lists.

Originals are kept one way: on the replacement, as its ``__localcloud_original__`` attribute,
set by :func:`install`. A replacement that calls moto's own code receives that original as
the argument of its factory (:func:`wrap`); nothing else stores one. Installing again reads it
back, so a hook wraps moto's function, never our earlier replacement of it.

This module imports nothing from the local cloud: every package may import it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ORIGINAL = "__localcloud_original__"


class MotoShapeChanged(RuntimeError):
    """A moto internal the local cloud hooks into no longer looks as expected."""


@dataclass(frozen=True)
class Hook:
    """A moto attribute we replace (or call), and the parameters we rely on."""

    module: str
    attribute: str  # "name" or "Class.method"
    params: tuple[str, ...] | None  # None: not callable, or we only need it to exist
    why: str

    def resolve(self) -> tuple[Any, str, Any]:
        owner: Any = importlib.import_module(self.module)
        *path, name = self.attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        return owner, name, getattr(owner, name)

    def problem(self) -> str | None:
        """What changed in moto, or None when the hook still fits."""
        try:
            _, _, target = self.resolve()
        except (ImportError, AttributeError) as exc:
            return f"{self.module}.{self.attribute} is gone ({exc}); needed because {self.why}"
        if self.params is None:
            return None
        actual = tuple(inspect.signature(original(target)).parameters)
        if actual != self.params:
            return (
                f"{self.module}.{self.attribute} now takes {actual}, expected {self.params}; "
                f"needed because {self.why}"
            )
        return None


@dataclass(frozen=True)
class Entry:
    """What is done with one hook: only checked, or replaced by ``build(original)``."""

    hook: Hook
    build: Callable[[Any], Any] | None = None


def check(hook: Hook) -> Entry:
    """A moto internal the local cloud calls or reads, left in place."""
    return Entry(hook)


def replace(hook: Hook, replacement: Any) -> Entry:
    """A moto internal replaced by ``replacement``, which never calls moto's own."""
    return Entry(hook, lambda _original: replacement)


def wrap(hook: Hook, make_replacement: Callable[[Any], Any]) -> Entry:
    """A moto internal replaced by ``make_replacement(original)``, which calls moto's own around its change."""
    return Entry(hook, make_replacement)


def original(target: Any) -> Any:
    """moto's own object behind an installed replacement (``target`` itself when not replaced)."""
    return getattr(target, ORIGINAL, target)


def problems(entries: Iterable[Entry]) -> list[str]:
    return [found for found in (entry.hook.problem() for entry in entries) if found]


def install(entries: Iterable[Entry]) -> None:
    """Check every hook, then replace those that have a replacement; idempotent.

    Nothing is replaced when any hook no longer fits moto (:class:`MotoShapeChanged`).
    """
    entries = list(entries)
    found = problems(entries)
    if found:
        raise MotoShapeChanged("; ".join(found))
    for entry in entries:
        if entry.build is not None:
            _replace(entry.hook, entry.build)


def _replace(hook: Hook, build: Callable[[Any], Any]) -> None:
    owner, name, current = hook.resolve()
    moto_own = original(current)
    replacement = build(moto_own)
    # One replacement may stand in several modules (moto imported the function by name into
    # each), but only for one original: the attribute could not tell which one it replaced.
    stands_for = original(replacement)
    if stands_for is not replacement and stands_for is not moto_own:
        raise ValueError(f"{hook.module}.{hook.attribute}: its replacement already stands for another original")
    setattr(replacement, ORIGINAL, moto_own)
    setattr(owner, name, replacement)
