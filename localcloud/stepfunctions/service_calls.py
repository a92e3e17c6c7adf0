"""The credentials Step Functions' own service calls are signed with: the state machine's role's.

moto's interpreter calls Lambda (and the other integrated services) over HTTP through the
local cloud's front door, with the fixed key ``ak``/``sk``; the front door accepts only
keys this instance knows, so every module that builds those clients gets a
``boto_client_for`` that signs, as on AWS, with temporary credentials for the state
machine's role (the task's ``Credentials`` role when it names one), issued by this
instance's STS and renewed before they expire. The front door then holds each call to that
role's policies (``iam/``). Without a role (moto lets a test omit it) the instance's key is used.
The clients themselves are reused across tasks (``clients``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..auth.credentials import Credentials
from ..hooks import Hook
from .clients import Clients

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
CLIENT_FACTORIES = [Hook(module, "boto_client_for", ("region", "service", "state_credentials"),
                         "Step Functions signs its service calls with it") for module in MODULES]

INSTANCE = "instance"  # the signer of calls made without a role


class RoleSessions:
    """Credentials for each role, issued for an hour and renewed five minutes before it ends."""

    DURATION_S = 3600
    RENEW_BEFORE_S = 300

    def __init__(self, issue: Callable[[str, str, str, int], Credentials],
                 clock: Callable[[], float] = time.time) -> None:
        self._issue = issue
        self._clock = clock
        self._sessions: dict[str, tuple[float, Credentials]] = {}  # role ARN -> (expiry, credentials)
        self._lock = threading.Lock()

    def credentials(self, role_arn: str, region: str) -> Credentials:
        now = self._clock()
        with self._lock:
            found = self._sessions.get(role_arn)
            if found is None or found[0] - self.RENEW_BEFORE_S < now:
                # Step Functions' own session name; what the role's ARN shows in an AccessDenied message.
                issued = self._issue(role_arn, f"StepFunctions-{uuid.uuid4().hex[:16]}", region, self.DURATION_S)
                found = (now + self.DURATION_S, issued)
                self._sessions[role_arn] = found
            return found[1]


def signing_as_the_role(clients: Clients, roles: RoleSessions, instance_key: Credentials) -> Callable[..., Any]:
    """moto's ``boto_client_for``, whose clients sign as the state machine's role (else the instance)."""

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        if isinstance(role_arn, str) and role_arn.startswith("arn:"):
            return clients.get(region, service, role_arn, roles.credentials(role_arn, region))
        return clients.get(region, service, INSTANCE, instance_key)

    return boto_client_for


# Set once by configure(), when the server starts: the instance's key is known only then.
_signing: Callable[..., Any] | None = None


def configure(access_key_id: str, secret_access_key: str) -> None:
    """Sign the interpreter's service calls with this instance's key when no role applies."""
    global _signing
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    from .. import config
    from ..auth import credentials

    # 127.0.0.1, the address the server listens on: "localhost" may resolve to ::1 first.
    clients = Clients(config.endpoint_url(moto_server_port()), TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS)
    _signing = signing_as_the_role(clients, RoleSessions(credentials.issue_for_role),
                                   Credentials(access_key_id, secret_access_key))


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """Replaces moto's ``boto_client_for`` in every module of :data:`MODULES`."""
    if _signing is None:
        raise RuntimeError("stepfunctions.configure() was not called: no key to sign service calls with")
    return _signing(region, service, state_credentials)
