"""The URL of the REST API a run deployed, found on the target as the notebooks find it (helpers.api)."""

from __future__ import annotations

import boto3

from helpers import api
from helpers import target as targets
from helpers.names import Names
from helpers.workbook import Workbook

# api.find reads only the API's name, its stage and the target's endpoint, never the account
# id: a placeholder spares the STS call workbook.start makes (and its switching targets).
_ANY_ACCOUNT = "123456789012"


def api_url(target: str, region: str, prefix: str, *, port: int | None = None) -> str | None:
    """The base URL of the REST API deployed for ``prefix`` (``POST {url}/images``), or None if there is none.

    Found with :func:`helpers.api.find`, so the URL is the one the notebooks print, without
    switching this process's target (a benchmark keeps its own): locally on this user's
    local cloud on ``port`` (default: the usual one), which is never started for this; on AWS
    with the environment's credentials (``AWS_PROFILE``...). Several APIs of that name raise,
    as in the notebooks.
    """
    wb = _workbook(target, region, prefix, port)
    if wb is None:
        return None
    found = api.find(wb)
    return found.url if found is not None else None


def _workbook(target: str, region: str, prefix: str, port: int | None) -> Workbook | None:
    names = Names(prefix=prefix, account_id=_ANY_ACCOUNT, region=region)
    if target != "local":
        return Workbook(target=targets.Target("aws", region, None), names=names)
    from localcloud import config, process

    instance = process.find(port or config.default_port())
    if instance is None:
        return None  # a local cloud that is not running holds no API: its state lived in its memory
    # The client carries the instance's endpoint and key itself; the environment stays as it was.
    client = boto3.client("apigateway", region_name=region, endpoint_url=instance.endpoint,
                          **instance.credentials.as_client_kwargs())
    return Workbook(target=targets.Target("local", region, instance.endpoint), names=names,
                    _clients={"apigateway": client})
