"""Points this Python process's boto3 at the chosen target: the local cloud or AWS.

The notebooks and the Lambda functions use plain boto3 everywhere; only the endpoint and
the credentials differ, and they are set here, in this process's environment only (a
notebook kernel, a test run), never globally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3

from . import localcloud
from .localcloud import config

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
    for key, dummy in config.DUMMY_CREDENTIALS.items():
        if os.environ.get(key) == dummy:  # ours, from an earlier local run in this process
            os.environ.pop(key)
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    endpoint = None
    if target == "local":
        endpoint = localcloud.ensure_running(port)
        os.environ.update(config.DUMMY_CREDENTIALS, AWS_ENDPOINT_URL=endpoint)
    # boto3's default session caches credentials: start a fresh one for the new target.
    boto3.DEFAULT_SESSION = None
    return Target(name=target, region=region, endpoint_url=endpoint)
