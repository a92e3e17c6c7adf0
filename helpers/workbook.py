"""The session every notebook starts with: target, region, prefix, names and clients.

``wb = workbook.start(target, region, prefix)`` in a notebook's first code cell points this
kernel's boto3 at the target (starting the local cloud if needed), learns the account id,
and returns the names every later cell uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import aws_errors, masking
from . import target as targets
from .names import Names, check_prefix

# Calls to a local cloud fail fast; on AWS, botocore's standard retries absorb throttling.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=90)


@dataclass
class Workbook:
    target: targets.Target
    names: Names
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.target.is_local

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def tags(self) -> dict[str, str]:
        return self.names.tags

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this target (cached per kernel)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region, config=_CLIENT_CONFIG)
        return self._clients[service]

    @property
    def account_id(self) -> str:
        return self.names.account_id

    def __repr__(self) -> str:
        where = "the local cloud" if self.is_local else "AWS"
        return f"Workbook(target={self.target.name!r} on {where}, region={self.region!r}, prefix={self.names.prefix!r})"


def start(target: str = "local", region: str = "us-east-1", prefix: str = "workbook", *,
          profile: str | None = None, port: int | None = None) -> Workbook:
    """Select the target for this kernel and return the workbook session.

    On AWS, what a newcomer meets first (no or expired credentials, a region without
    Rekognition) raises :class:`aws_errors.SetupError` with one sentence saying what to do.
    """
    check_prefix(prefix)
    if target == "aws" and (problem := aws_errors.region_problem(region)):
        raise aws_errors.SetupError(problem)
    chosen = targets.use(target, region, profile=profile, port=port)
    try:
        account_id = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as error:
        aws_errors.raise_explained(error, "sts:GetCallerIdentity")
        raise
    session = Workbook(target=chosen, names=Names(prefix=prefix, account_id=account_id, region=region))
    if not session.is_local:
        masking.install(account_id)  # outputs get shared: no real account id in them
    return session
