"""Signing calls to the local cloud's own endpoints (``/_localcloud/...``) with the instance key.

The key is read from the caller's own state folder for the endpoint's port (only its owner
can read it), or from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` when those hold it (a
notebook after ``helpers.target.use("local")``).
"""

from __future__ import annotations

import os
import urllib.request
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from .. import config
from . import credentials

SERVICE = "localcloud"


def for_endpoint(endpoint: str) -> credentials.Credentials:
    port = urlsplit(endpoint).port
    found = credentials.load(config.instance_dir(port)) if port else None
    if found is not None:
        return found
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return credentials.Credentials(key, secret)
    raise credentials.CredentialsMissing(
        f"no credentials for the local cloud at {endpoint}: its key is kept in "
        f"{credentials.path(config.instance_dir(port or 0))}, which only the user who started it can read")


def signed_request(endpoint: str, method: str, path: str, data: bytes | None = None,
                   creds: credentials.Credentials | None = None, *, service: str = SERVICE,
                   headers: dict[str, str] | None = None) -> urllib.request.Request:
    """A urllib request to ``endpoint + path`` signed with SigV4 (for the ``localcloud`` service
    unless another is named: tests use it to send raw bodies to an AWS API)."""
    creds = creds or for_endpoint(endpoint)
    url = endpoint.rstrip("/") + path
    headers = headers or ({"Content-Type": "application/json"} if data is not None else {})
    request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
    SigV4Auth(BotocoreCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
              service, config.DEFAULT_REGION).add_auth(request)
    return urllib.request.Request(url, data=data, method=method, headers=dict(request.headers.items()))
