"""The local target's switches: what a notebook asks of the local cloud besides ``workbook.start``.

On the local target the notebooks can do what AWS does not let you do on demand: make a chosen
call fail (fault injection), run S3's lifecycle expiry now instead of within a day, and read
the local cloud's notes (which label model it loaded, what it does differently from AWS).
Each function takes the notebook's workbook and refuses a workbook on AWS with
:class:`NotLocal`, whose message says what to do there instead.

These are thin: the local cloud's own package (``localcloud``) does the work, and this module
is the only way the notebooks reach it, so a learner meets one set of helpers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from localcloud import faults, process
from localcloud.s3 import lifecycle

from .workbook import Workbook


class NotLocal(ValueError):
    """A local-cloud switch was asked of a workbook whose target is AWS."""


def _endpoint(wb: Workbook, what: str, on_aws: str) -> str:
    if not wb.is_local or not wb.target.endpoint_url:
        raise NotLocal(f"{what} is a switch of the local cloud, and this workbook's target is "
                       f"{wb.target.name!r}: {on_aws}")
    return wb.target.endpoint_url


def notes(wb: Workbook) -> list[str]:
    """The local cloud's notes from its status report (which label model it loaded, and so on)."""
    endpoint = _endpoint(wb, "reading the local cloud's notes", "AWS has no such report")
    report = process.status(urlsplit(endpoint).port) or {}
    return list(report.get("notes", []))


_FAULTS_ON_AWS = "on AWS, test error handling with AWS Fault Injection Service, or a policy that denies the call"


def inject_fault(wb: Workbook, *, service: str, operation: str, error: str, count: int | None = 1,
                 match: str | None = None, **options: Any) -> dict[str, Any]:
    """Make the next ``count`` calls of ``service``'s ``operation`` fail with ``error``; returns the rule.

    ``match`` narrows the calls to a function, table, bucket or ``bucket/key`` (a glob); the
    other options (``status``, ``message``, ``probability``, ``seed``) are the local cloud's,
    described in ``python -m localcloud faults add --help``.
    """
    endpoint = _endpoint(wb, "fault injection", _FAULTS_ON_AWS)
    return faults.inject(endpoint, service=service, operation=operation, error=error, count=count, match=match,
                         **options)


def fault_rules(wb: Workbook) -> list[dict[str, Any]]:
    """The fault rules in force, with how many calls each has failed so far."""
    return faults.rules(_endpoint(wb, "fault injection", _FAULTS_ON_AWS))


def clear_faults(wb: Workbook) -> int:
    """Remove every fault rule; returns how many there were."""
    return faults.clear(_endpoint(wb, "fault injection", _FAULTS_ON_AWS))


def expire(wb: Workbook, *, days: float, bucket: str | None = None) -> list[dict[str, Any]]:
    """Apply the buckets' lifecycle rules as if ``days`` had passed; returns what was removed.

    On AWS, lifecycle rules run on their own, within about a day after objects fall due.
    """
    endpoint = _endpoint(wb, "running S3 lifecycle expiry now", "AWS applies lifecycle rules on its own, daily")
    return lifecycle.expire(endpoint, days=days, bucket=bucket)
