"""The credentials Step Functions' own service calls are signed with: the state machine's role's.

moto's interpreter calls Lambda (and the other integrated services) over HTTP through the
local cloud's front door, with the fixed key ``ak``/``sk``; the front door accepts only
keys this instance knows, so every module that builds those clients gets a
``boto_client_for`` that signs, as on AWS, with temporary credentials for the state
machine's role (the task's ``Credentials`` role when it names one), issued by this
instance's STS and renewed before they expire. The front door then holds each call to that
role's policies (``iam/``). Without a role (moto lets a test omit it) the instance's key is used.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from ..hooks import Hook, patch, register

_PARSER = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
# Every module that imported boto_client_for by name, so each needs its own copy replaced.
MODULES = (
    "moto.stepfunctions.parser.asl.utils.boto_client",
    f"{_PARSER}.lambda_eval_utils",
    f"{_PARSER}.service.state_task_service_aws_sdk",
    f"{_PARSER}.service.state_task_service_dynamodb",
    f"{_PARSER}.service.state_task_service_sfn",
    f"{_PARSER}.service.state_task_service_sns",
    f"{_PARSER}.service.state_task_service_sqs",
    f"{_PARSER}.service.state_task_service_events",
)
HOOKS = [register(Hook(module, "boto_client_for", ("region", "service", "state_credentials"),
                       "Step Functions signs its service calls with it")) for module in MODULES]

_credentials: dict[str, str] = {}
_RENEW_BEFORE_S = 300
_role_sessions: dict[str, tuple[float, Any]] = {}  # role ARN -> (expiry, Credentials)
_sessions_lock = threading.Lock()


def _role_credentials(role_arn: str, region: str) -> Any:
    from ..auth import credentials

    now = time.time()
    with _sessions_lock:
        found = _role_sessions.get(role_arn)
        if found is None or found[0] - _RENEW_BEFORE_S < now:
            duration = 3600
            # Step Functions' own session name; what the role's ARN shows in an AccessDenied message.
            issued = credentials.issue_for_role(role_arn, f"StepFunctions-{uuid.uuid4().hex[:16]}", region, duration)
            found = (now + duration, issued)
            _role_sessions[role_arn] = found
        return found[1]


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    role_arn = getattr(state_credentials, "role_arn", None)
    if isinstance(role_arn, str) and role_arn.startswith("arn:"):
        keys = _role_credentials(role_arn, region).as_client_kwargs()
    else:
        keys = {"aws_access_key_id": _credentials["key"], "aws_secret_access_key": _credentials["secret"]}
    return boto3.client(
        service_name=service,
        region_name=region,
        endpoint_url=f"http://localhost:{moto_server_port()}",
        **keys,
        config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                      connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                      read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS),
    )


def install(access_key_id: str, secret_access_key: str) -> None:
    _credentials.update(key=access_key_id, secret=secret_access_key)
    for hook in HOOKS:
        patch(hook, _boto_client_for)
