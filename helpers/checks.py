"""Check cells that say which part failed: one line per condition, ✓ or ✗, then a typed error.

A notebook's closing check and each exercise's check are written the same way::

    with checks.exercise("2.1", "Raise MinConfidence to 90") as check:
        check.equal("MIN_CONFIDENCE of the deployed function", found=env.get("MIN_CONFIDENCE"), expected="90.0",
                    hint="set min_confidence = 90.0 in the exercise cell, then run it")
        check.that("every label is at least 90% confident", lowest >= 90, expected="≥ 90", found=lowest)

Every condition is printed as it is recorded, so a learner sees all of them, not only the
first that failed. When the block ends with a failed condition, :class:`ExerciseIncomplete`
(for an exercise) or :class:`CheckFailed` (for what the notebook built) is raised with a
message naming each failed condition, what was expected and found, and the hint: what is
still missing. Both are ``AssertionError`` subclasses, so ``Run All`` stops there as at an
``assert``, and a learner who skips an exercise simply runs the cells after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

PASS, FAIL = "✓", "✗"


@dataclass(frozen=True)
class Condition:
    name: str
    ok: bool
    expected: str = ""
    found: str = ""
    hint: str = ""

    def line(self) -> str:
        if self.ok:
            return f"  {PASS} {self.name}" + (f": {self.found}" if self.found else "")
        detail = ", ".join(part for part in (f"expected {self.expected}" if self.expected else "",
                                             f"found {self.found}" if self.found else "") if part)
        return f"  {FAIL} {self.name}" + (f": {detail}" if detail else "")

    def explanation(self) -> str:
        text = self.line().strip()[2:]  # without the mark
        return text + (f" (hint: {self.hint})" if self.hint else "")


class CheckFailed(AssertionError):
    """What a notebook built does not do what it should: names each failed condition."""

    def __init__(self, title: str, failed: list[Condition], total: int) -> None:
        self.title = title
        self.failed = failed
        self.total = total
        reasons = "; ".join(condition.explanation() for condition in failed)
        super().__init__(f"{title}: {len(failed)} of {total} checks failed: {reasons}")


class ExerciseIncomplete(CheckFailed):
    """An exercise's check: the change asked for is not (yet) there; the hint says what is missing."""

    def __init__(self, number: str, title: str, failed: list[Condition], total: int) -> None:
        self.number = number
        reasons = "; ".join(condition.explanation() for condition in failed)
        AssertionError.__init__(self, f"Exercise {number} ({title}) is not done yet: {reasons}")
        self.title, self.failed, self.total = title, failed, total


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


@dataclass
class Checklist:
    """The conditions of one check cell, printed as they are recorded."""

    title: str
    conditions: list[Condition] = field(default_factory=list)

    def that(self, name: str, ok: bool, *, expected: Any = "", found: Any = "", hint: str = "") -> bool:
        """Record one condition (``ok``) and print its line; returns ``ok`` for cells that go on."""
        condition = Condition(name, bool(ok), _text(expected) if expected != "" else "",
                              _text(found) if found != "" else "", hint)
        self.conditions.append(condition)
        print(condition.line())
        return condition.ok

    def equal(self, name: str, *, found: Any, expected: Any, hint: str = "") -> bool:
        """``found == expected``, both shown as Python values (``'90'`` is not ``90``)."""
        return self.that(name, found == expected, expected=repr(expected), found=repr(found), hint=hint)

    @property
    def failed(self) -> list[Condition]:
        return [condition for condition in self.conditions if not condition.ok]


@contextmanager
def verify(title: str) -> Iterator[Checklist]:
    """A notebook's closing check: raises :class:`CheckFailed` if any condition failed."""
    print(title)
    checklist = Checklist(title)
    yield checklist
    if checklist.failed:
        raise CheckFailed(title, checklist.failed, len(checklist.conditions))


@contextmanager
def exercise(number: str, title: str) -> Iterator[Checklist]:
    """An exercise's check: raises :class:`ExerciseIncomplete` naming what is still missing."""
    print(f"Exercise {number} · {title}")
    checklist = Checklist(title)
    yield checklist
    if checklist.failed:
        raise ExerciseIncomplete(number, title, checklist.failed, len(checklist.conditions))
    print(f"Exercise {number} done.")
