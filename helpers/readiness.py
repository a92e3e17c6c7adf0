"""Is the chosen target ready for the workbook? Identity, region, Rekognition, permissions.

Notebook 00 runs these before anything is created, so a learner with a wrong profile,
a region without Rekognition, or missing permissions learns it in the first minute, with
the fix, rather than halfway through notebook 04.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from . import aws_errors
from .aws_errors import REKOGNITION_REGIONS
from .workbook import Workbook


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"


class Report(list):
    """The checks, printed one per line; ``ok`` when every check passed."""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self)

    def __repr__(self) -> str:
        return "\n".join(str(check) for check in self)


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _call(name: str, call: Callable[[], str], fix: str, action: str = "") -> Check:
    """``call``'s answer, or the refusal in one sentence (aws_errors.explain) or with ``fix``."""
    try:
        return Check(name, True, call())
    except (ClientError, BotoCoreError) as exc:
        sentence = aws_errors.explain(exc, action)
        if sentence:
            return Check(name, False, sentence)
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return Check(name, False, f"{code}: {exc}. {fix}")


def _identity(wb: Workbook) -> str:
    arn = wb.client("sts").get_caller_identity()["Arn"]
    # The principal's name only: account ids stay out of notebook outputs.
    return f"signed in as {arn.split(':', 5)[-1]}"


def _detect_labels_once(wb: Workbook) -> str:
    labels = wb.client("rekognition").detect_labels(Image={"Bytes": _tiny_png()}, MaxLabels=1)["Labels"]
    return f"DetectLabels answered with {len(labels)} label(s)"


def run(wb: Workbook) -> Report:
    """Read-only checks; nothing is created."""
    where = "the local cloud" if wb.is_local else "AWS"
    checks = Report([
        _call("identity", lambda: _identity(wb),
              "Check AWS_PROFILE / credentials (aws sso login, or aws configure).", "sts:GetCallerIdentity"),
        Check("region", wb.is_local or wb.region in REKOGNITION_REGIONS,
              f"{wb.region} on {where}" if wb.is_local or wb.region in REKOGNITION_REGIONS
              else str(aws_errors.region_problem(wb.region))),
        _call("rekognition", lambda: _detect_labels_once(wb),
              "The workbook needs rekognition:DetectLabels in this region.", "rekognition:DetectLabels"),
    ])
    for name, service, list_call, action in _LISTS:
        checks.append(_call(f"permission: {name}", _can_list(wb, service, list_call),
                            f"Ask your instructor for read and create permissions on {name}.", action))
    return checks


# One cheap read per service: a refusal here means creating will be refused too.
_LISTS: list[tuple[str, str, Callable, str]] = [
    ("lambda", "lambda", lambda c: c.list_functions(MaxItems=1), "lambda:ListFunctions"),
    ("step functions", "stepfunctions", lambda c: c.list_state_machines(maxResults=1), "states:ListStateMachines"),
    ("s3", "s3", lambda c: c.list_buckets(), "s3:ListAllMyBuckets"),
    ("dynamodb", "dynamodb", lambda c: c.list_tables(Limit=1), "dynamodb:ListTables"),
    ("api gateway", "apigateway", lambda c: c.get_rest_apis(limit=1), "apigateway:GET"),
    ("iam", "iam", lambda c: c.list_roles(MaxItems=1), "iam:ListRoles"),
]


def _can_list(wb: Workbook, service: str, list_call: Callable) -> Callable[[], str]:
    def check() -> str:
        list_call(wb.client(service))
        return "can list"
    return check
