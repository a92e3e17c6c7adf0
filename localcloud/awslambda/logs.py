"""Writes what a function printed to CloudWatch Logs, as Lambda does.

Lambda sends each execution environment's output to its own stream in the log group
/aws/lambda/NAME, framed by START / END / REPORT lines. We write into moto's Logs
backend in-process (the same state the CloudWatch Logs API serves).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timezone

LOG_TAIL_BYTES = 4096  # what LogType=Tail returns

# moto's log streams are not thread-safe; concurrent environments write through this lock.
_lock = threading.Lock()


def stream_name(instance_id: str, version: str = "$LATEST") -> str:
    return f"{datetime.now(timezone.utc):%Y/%m/%d}/[{version}]{instance_id}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_lines(request_id: str, duration_ms: float, memory_mb: int, max_used_mb: int,
              init_ms: float | None, timed_out: bool) -> list[str]:
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, int(-(-duration_ms // 1)))} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_used_mb} MB\t"
    )
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    if timed_out:
        report += "Status: timeout"
    return [f"END RequestId: {request_id}", report]


def timeout_line(request_id: str, timeout_s: float) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


def tail(lines: list[str]) -> str:
    """The last 4 KB of an invocation's log, as LogType=Tail returns it (before base64)."""
    data = ("\n".join(lines) + "\n").encode()
    return data[-LOG_TAIL_BYTES:].decode(errors="ignore")


def _role_may(role: str, session: str, account_id: str, region: str, actions: list[str], group: str,
              stream: str) -> bool:
    """Whether the execution role may deliver the logs. Lambda writes them with the role's
    permissions; without them the function still runs and its output is lost (AWS's rule)."""
    from ..iam.enforce import ENFORCER

    match = re.match(r"^arn:([^:]+):iam::(\d+):role/(?:.*/)?([^/]+)$", role)
    if not match:
        return True
    principal = f"arn:{match[1]}:sts::{match[2]}:assumed-role/{match[3]}/{session[:64]}"
    base = f"arn:{match[1]}:logs:{region}:{account_id}:log-group:{group}"
    return ENFORCER.may(principal, [(action, base if action == "logs:CreateLogGroup" else f"{base}:log-stream:{stream}")
                                    for action in actions])


def write(account_id: str, region: str, group: str, stream: str, lines: list[str], *, role: str = "",
          session: str = "") -> None:
    """Append ``lines`` (one event each) to the stream, creating group and stream as needed,
    as far as the function's ``role`` allows."""
    from moto.logs.exceptions import ResourceAlreadyExistsException
    from moto.logs.models import logs_backends

    if not lines:
        return
    backend = logs_backends[account_id][region]
    now = int(time.time() * 1000)
    if role:
        needed = ["logs:CreateLogStream", "logs:PutLogEvents"]
        if group not in backend.groups:
            needed.insert(0, "logs:CreateLogGroup")
        if not _role_may(role, session, account_id, region, needed, group, stream):
            return
    with _lock:
        if group not in backend.groups:
            try:
                backend.create_log_group(group, {})
            except ResourceAlreadyExistsException:
                pass
        backend.ensure_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
