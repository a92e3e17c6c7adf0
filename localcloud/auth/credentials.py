"""The keys a local cloud accepts: its own instance key, and the keys it issued.

``start`` makes a fresh instance key for every instance and keeps it in the instance's
state folder, readable by its owner only (``credentials.json``, mode 0600): whoever can
read it is that learner. Besides it the server accepts what it issued itself through STS
(``AssumeRole``: the temporary credentials each Lambda execution environment gets, as on
Lambda) and the access keys of IAM users created in it.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILE_NAME = "credentials.json"
# Instance keys are shaped like IAM keys (20 characters, upper case) yet never a real AWS one.
KEY_PREFIX = "LKIA"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


class CredentialsMissing(RuntimeError):
    """No instance key where one should be; the message says which folder and what to do."""


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def as_client_kwargs(self) -> dict[str, str | None]:
        """For ``boto3.client(..., **key.as_client_kwargs())``."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
                "aws_session_token": self.session_token}

    def as_env(self) -> dict[str, str]:
        """The AWS_* variables an SDK reads (without a session token when there is none)."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


@dataclass(frozen=True)
class Known:
    """A key the instance accepts, with what a request signed by it must also carry."""

    secret_access_key: str
    session_token: str | None  # required in X-Amz-Security-Token when set
    principal: str  # "instance", or the ARN of the user or assumed role
    expires: datetime | None = None


def generate() -> Credentials:
    key = KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    return Credentials(key, secrets.token_urlsafe(30)[:40])


def path(folder: Path) -> Path:
    return folder / FILE_NAME


def write(folder: Path, credentials: Credentials) -> None:
    """Write atomically with mode 0600 from the first byte: never readable by anyone else."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = folder / f".{FILE_NAME}.{os.getpid()}"
    staging.unlink(missing_ok=True)
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"AccessKeyId": credentials.access_key_id,
                   "SecretAccessKey": credentials.secret_access_key}, handle)
    staging.replace(path(folder))


def load(folder: Path) -> Credentials | None:
    try:
        doc = json.loads(path(folder).read_text())
        return Credentials(str(doc["AccessKeyId"]), str(doc["SecretAccessKey"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def require(folder: Path) -> Credentials:
    found = load(folder)
    if found is None:
        raise CredentialsMissing(
            f"no local cloud credentials in {path(folder)}: start the local cloud first "
            f"(python -m localcloud start), which creates them")
    return found


class Keyring:
    """Server side: the secret behind an access key this instance accepts, or None."""

    def __init__(self, instance: Credentials) -> None:
        self.instance = instance

    def lookup(self, access_key: str) -> Known | None:
        if secrets.compare_digest(access_key, self.instance.access_key_id):
            return Known(self.instance.secret_access_key, None, "instance")
        return _issued_by_sts(access_key) or _iam_user_key(access_key)


class AssumedRoleIndex:
    """moto's assumed roles by access key.

    moto keeps them in a list per STS backend and finds a key by scanning it; every Lambda
    environment adds one, so each signed call scanned hundreds. moto only appends to that list
    (a reset gives a new backend and list): what was appended since the last lookup is indexed,
    a list that is not the one indexed (or shorter) is indexed afresh, and the indexes of lists
    no backend holds any more are dropped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_list: dict[int, tuple[list[Any], int, dict[str, Any]]] = {}

    def find(self, lists: list[list[Any]], access_key: str) -> Any | None:
        with self._lock:
            fresh = {}
            for roles in lists:
                listed, count, index = self._by_list.get(id(roles), (None, 0, {}))
                if listed is not roles or count > len(roles):
                    count, index = 0, {}
                for role in roles[count:]:
                    index.setdefault(role.access_key_id, role)  # the first, as moto's scan finds
                fresh[id(roles)] = (roles, len(roles), index)
            self._by_list = fresh
        return next((index[access_key] for _, _, index in fresh.values() if access_key in index), None)


ASSUMED_ROLES = AssumedRoleIndex()


def _issued_by_sts(access_key: str) -> Known | None:
    from moto.sts.models import sts_backends

    lists = [backend.assumed_roles for account_id in list(sts_backends.keys())
             for backend in list(dict.values(sts_backends[account_id]))]
    role = ASSUMED_ROLES.find(lists, access_key)
    if role is None:
        return None
    return Known(role.secret_access_key, role.session_token, role.arn, role.expiration.replace(tzinfo=timezone.utc))


def _iam_user_key(access_key: str) -> Known | None:
    from moto.iam.models import iam_backends

    for account_id in list(iam_backends.keys()):
        for backend in list(dict.values(iam_backends[account_id])):
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key and key.status == "Active":
                        return Known(key.secret_access_key, None, user.arn)
    return None


def issue_for_role(role_arn: str, session_name: str, region: str, duration_s: int = 43200) -> Credentials:
    """Temporary credentials for ``role_arn``, issued by this instance's STS (as Lambda gets its
    execution role's). Twelve hours: an execution environment lives at most that long here."""
    from moto.sts.models import sts_backends

    from .. import config

    backend = sts_backends[config.ACCOUNT_ID]["aws"]
    role = backend.assume_role(region_name=region, role_session_name=session_name[:64], role_arn=role_arn,
                               policy="", duration=duration_s, external_id="")
    return Credentials(role.access_key_id, role.secret_access_key, role.session_token)


def now() -> datetime:
    return datetime.now(timezone.utc)
