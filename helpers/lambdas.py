"""Packages the Lambda code a notebook wrote and deploys it idempotently.

Each notebook writes its function with ``%%writefile functions/NAME.py`` (the folder is
``notebooks/functions/``), then calls :func:`deploy`, which zips that file (and the modules it
imports, written by the notebook or provided in ``notebooks/provided/``, ``modules=["image_checks"]``), makes sure
the role and log group exist, and creates the function or updates its code and
configuration, waiting until Lambda reports it Active and Updated. Running it again with
the same code changes nothing; with edited code, it redeploys.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import iam, limits, workspace
from .workbook import Workbook

RUNTIME = "python3.12"
LOG_RETENTION_DAYS = 7  # a workshop's logs are not worth paying to keep


class FunctionFailed(RuntimeError):
    """The function ran and raised: carries Lambda's error type, message and log tail."""

    def __init__(self, name: str, error: dict[str, Any], log_tail: str) -> None:
        self.function = name
        self.error_type = error.get("errorType", "Unknown")
        self.error_message = error.get("errorMessage", "")
        self.log_tail = log_tail
        super().__init__(f"{name} failed with {self.error_type}: {self.error_message}")


@dataclass(frozen=True)
class Deployed:
    name: str
    arn: str
    code_sha256: str
    changed: bool  # False when the same code and configuration were already deployed

    def __repr__(self) -> str:
        what = "deployed" if self.changed else "already up to date"
        return f"{self.name}: {what} (code sha256 {self.code_sha256[:12]}…)"


def source_path(key: str) -> Path:
    return workspace.functions_dir() / f"{key}.py"


def package(key: str, source: Path | None = None, modules: Sequence[str] = ()) -> bytes:
    """A deployment package holding the function's file and ``modules`` (written beside it), reproducibly.

    Every file sits at the top of the zip, so the handler imports a module by its name
    (``import image_checks``); timestamps and permissions are fixed, modules are sorted.
    """
    source = source or source_path(key)
    files = [(f"{key}.py", source)] + [(f"{name}.py", workspace.module_path(name, source.parent))
                                       for name in sorted(set(modules))]
    for _, path in files:
        if not path.exists():
            raise FileNotFoundError(
                f"{path.name} has not been written yet: run the %%writefile cell above this one first"
            )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _ensure_log_group(wb: Workbook, key: str) -> None:
    logs = wb.client("logs")
    group = wb.names.log_group(key)
    try:
        logs.create_log_group(logGroupName=group, tags=wb.tags)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)


def deploy(wb: Workbook, key: str, *, environment: dict[str, str] | None = None, timeout: int = 10,
           memory: int = 256, source: Path | None = None, modules: Sequence[str] = (),
           layers: Sequence[str] = ()) -> Deployed:
    """Create or update the function ``key`` ("image_uploader", ...) from its written file.

    ``modules``: other files the notebook wrote (``image_checks`` for ``image_checks.py``), packaged
    beside the handler so it can import them.
    ``layers``: layer version ARNs (``layers.ensure_pillow(wb).version_arn``), in the order Lambda
    merges them into /opt; deploying without them removes any the function had.
    """
    lam = wb.client("lambda")
    name = wb.names.function(key)
    zipped = package(key, source, modules)
    sha = base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    config = {
        "Role": iam.ensure_role(wb, key),
        "Handler": f"{key}.handler",
        "Runtime": RUNTIME,
        "Timeout": timeout,
        "MemorySize": memory,
        "Environment": {"Variables": dict(environment or {})},
        "Layers": list(layers),
    }
    _ensure_log_group(wb, key)
    try:
        current = lam.get_function(FunctionName=name)["Configuration"]
    except lam.exceptions.ResourceNotFoundException:
        created = iam.retry_while_propagating(
            wb, lambda: lam.create_function(FunctionName=name, Code={"ZipFile": zipped}, Tags=wb.tags,
                                            Description=f"workbook: {key.replace('_', ' ')}", **config))
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        _limit(wb, key)
        return Deployed(name, created["FunctionArn"], sha, changed=True)

    changed = False
    if current["CodeSha256"] != sha:
        lam.update_function_code(FunctionName=name, ZipFile=zipped)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        changed = True
    if _config_differs(current, config):
        iam.retry_while_propagating(wb, lambda: lam.update_function_configuration(FunctionName=name, **config))
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        changed = True
    lam.tag_resource(Resource=current["FunctionArn"], Tags=wb.tags)
    _limit(wb, key)
    return Deployed(name, current["FunctionArn"], sha, changed)


def _limit(wb: Workbook, key: str) -> None:
    """On AWS, the function's reserved concurrency (helpers/limits.py says why, and what a caller sees)."""
    if limits.applies(wb) and key in limits.RESERVED_CONCURRENCY:
        limits.reserve_concurrency(wb, key)


def _config_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    now = {
        "Role": current.get("Role"),
        "Handler": current.get("Handler"),
        "Runtime": current.get("Runtime"),
        "Timeout": current.get("Timeout"),
        "MemorySize": current.get("MemorySize"),
        "Environment": {"Variables": current.get("Environment", {}).get("Variables", {})},
        # GetFunction lists them as [{"Arn": ..., "CodeSize": ...}]; the order matters (merge order).
        "Layers": [layer["Arn"] for layer in current.get("Layers", [])],
    }
    return now != wanted


def invoke(wb: Workbook, key: str, event: dict[str, Any]) -> Any:
    """Invoke synchronously and return the parsed result; raise FunctionFailed on an error."""
    name = wb.names.function(key)
    response = wb.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        tail = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
        raise FunctionFailed(name, payload if isinstance(payload, dict) else {"errorMessage": str(payload)}, tail)
    return payload


def delete(wb: Workbook, key: str) -> bool:
    lam = wb.client("lambda")
    try:
        lam.delete_function(FunctionName=wb.names.function(key))
    except lam.exceptions.ResourceNotFoundException:
        return False
    return True


def excerpt(key: str, function_name: str, source: Path | None = None) -> str:
    """The source of one top-level function in a written Lambda file, to show a part of it again.

    ``excerpt("api_receiver", "post_upload")``: what a later notebook explains of code an earlier
    one wrote, read from the file as it is (a learner's edits included).
    """
    path = source or source_path(key)
    if not path.exists():
        raise FileNotFoundError(f"{path.name} has not been written yet: run the notebook that writes it first")
    text = path.read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == function_name:
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            return "\n".join(text.splitlines()[first - 1:node.end_lineno])
    raise LookupError(f"{path.name} has no top-level function {function_name!r}")
