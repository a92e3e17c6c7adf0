"""The credentials Step Functions' own service calls are signed with.

moto's interpreter calls Lambda (and the other integrated services) over HTTP through the
local cloud's front door, with the fixed key ``ak``/``sk``; the front door accepts only
keys this instance knows, so every module that builds those clients gets a
``boto_client_for`` that signs with the instance's key. (On AWS the calls use the state
machine's role; evaluating that role's policies is not done here.)
"""

from __future__ import annotations

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


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    return boto3.client(
        service_name=service,
        region_name=region,
        endpoint_url=f"http://localhost:{moto_server_port()}",
        aws_access_key_id=_credentials["key"],
        aws_secret_access_key=_credentials["secret"],
        config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                      connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                      read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS),
    )


def install(access_key_id: str, secret_access_key: str) -> None:
    _credentials.update(key=access_key_id, secret=secret_access_key)
    for hook in HOOKS:
        patch(hook, _boto_client_for)
