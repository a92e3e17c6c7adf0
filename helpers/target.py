"""Points this Python process's boto3 at the chosen target: the local cloud or AWS.

The notebooks and the Lambda functions use plain boto3 everywhere; only the endpoint and
the credentials differ, and they are set here, in this process's environment only (a
notebook kernel, a test run), never globally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3

import localcloud
from localcloud import config
from localcloud.auth import credentials

TARGETS = ("local", "aws")


class TargetError(ValueError):
    """The target settings cannot work; the message says what is accepted."""


@dataclass(frozen=True)
class Target:
    name: str
    region: str
    endpoint_url: str | None  # None on AWS: boto3 uses the real endpoints

    @property
    def is_local(self) -> bool:
        return self.name == "local"


def use(target: str = "local", region: str = config.DEFAULT_REGION, *, port: int | None = None,
        profile: str | None = None) -> Target:
    """Select the target for this process; on ``local`` start the local cloud if needed."""
    if target not in TARGETS:
        raise TargetError(f"target must be one of {', '.join(TARGETS)}; got {target!r}")
    if not region:
        raise TargetError("region must be set, for example 'us-east-1'")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    if target == "local":
        # A learner's profile must not send local calls to AWS.
        os.environ.pop("AWS_PROFILE", None)
    elif profile:
        os.environ["AWS_PROFILE"] = profile
    if os.environ.get("AWS_ACCESS_KEY_ID", "").startswith(credentials.KEY_PREFIX):
        # A local cloud's key, from an earlier local run in this process: never sent to AWS.
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            os.environ.pop(key, None)
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    endpoint = None
    if target == "local":
        instance = localcloud.start(port)
        endpoint = instance.endpoint
        # This learner's own instance key: the local cloud answers nothing unsigned.
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.update(instance.credentials.as_env(), AWS_ENDPOINT_URL=endpoint)
    # boto3's default session caches credentials: start a fresh one for the new target.
    boto3.DEFAULT_SESSION = None
    return Target(name=target, region=region, endpoint_url=endpoint)
