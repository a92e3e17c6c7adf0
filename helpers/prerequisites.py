"""Checks that what a notebook needs from earlier notebooks exists, and says which to run.

Each notebook runs on its own in a fresh kernel; when it depends on a resource an earlier
notebook builds, it calls :func:`require` first, which fails with the notebook to run
instead of a botocore error three cells later.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from .aws_errors import is_not_found
from .workbook import Workbook


class MissingPrerequisite(RuntimeError):
    """Something an earlier notebook builds is missing; the message names that notebook."""


def _exists(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise
    return True


def _checks(wb: Workbook) -> dict[str, tuple[str, str, Callable[[], object]]]:
    """name -> (what it is, the notebook that builds it, a call that fails if it is missing)."""
    n = wb.names
    return {
        "bucket": ("the S3 bucket", "01_image_uploader", lambda: wb.client("s3").head_bucket(Bucket=n.bucket)),
        "image_uploader": ("the image-uploader Lambda", "01_image_uploader",
                           lambda: wb.client("lambda").get_function(FunctionName=n.function("image_uploader"))),
        "label_detector": ("the label-detector Lambda", "02_label_detector",
                           lambda: wb.client("lambda").get_function(FunctionName=n.function("label_detector"))),
        "table": ("the DynamoDB table", "03_result_store",
                  lambda: wb.client("dynamodb").describe_table(TableName=n.table)),
        "result_store": ("the result-store Lambda", "03_result_store",
                         lambda: wb.client("lambda").get_function(FunctionName=n.function("result_store"))),
        "state_machine": ("the state machine", "04_state_machine", lambda: wb.client("stepfunctions")
                          .describe_state_machine(stateMachineArn=n.state_machine_arn)),
        "api_receiver": ("the api-receiver Lambda", "05_api",
                         lambda: wb.client("lambda").get_function(FunctionName=n.function("api_receiver"))),
    }


def require(wb: Workbook, *names: str) -> str:
    """Fail with the notebook to run unless every named resource exists; returns a summary."""
    checks = _checks(wb)
    unknown = [name for name in names if name not in checks]
    if unknown:
        raise ValueError(f"unknown prerequisite(s) {unknown}; known: {', '.join(checks)}")
    for name in names:
        what, notebook, call = checks[name]
        if not _exists(call):
            raise MissingPrerequisite(
                f"{what} for prefix {wb.names.prefix!r} does not exist yet: run notebooks/{notebook}.ipynb first "
                f"(with the same target, region and prefix)"
            )
    return f"found: {', '.join(checks[name][0] for name in names)}"
