"""What both ends of the fault admin API share: its path, the error of a refused rule, and the
one-line description of a rule in its JSON form.

Kept apart from the rules engine so the client side (``client.py``, the CLI, ``status_report``)
can import it without the server's modules.
"""

from __future__ import annotations

from typing import Any

ADMIN_PATH = "/_localcloud/faults"


class FaultRuleError(ValueError):
    """A rule that cannot be set: the message says which field is wrong and why."""


def describe(rule: dict[str, Any]) -> str:
    """One line for the log and ``status``: what a rule matches, what it answers, how often it fired."""
    what = f"{rule['service']} {rule['operation']}" + (f" [{rule['match']}]" if rule.get("match") else "")
    how = "until cleared" if rule["count"] is None else f"{rule['count']} time(s)"
    if rule.get("probability") is not None:
        how += f", p={rule['probability']}" + (f" seed={rule['seed']}" if rule.get("seed") is not None else "")
    state = "expired" if rule["expired"] else "active"
    return f"{rule['id']}: {what} -> {rule['status']} {rule['error']}, {how}; fired {rule['fired']} ({state})"
