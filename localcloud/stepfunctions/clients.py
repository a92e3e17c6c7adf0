"""The SDK clients Step Functions' service calls go through, built once and reused.

moto's interpreter built a new ``boto3.client`` for every Task, about 5-10 ms of CPU each
(the client class, its event handlers, a new connection pool and TCP connection), more than
the Lambda call it then made. botocore clients are thread-safe, so executions share one
per (region, service, signer); a signer's renewed credentials get a new client, and the old
one is left to the calls still using it. Creation goes through one private boto3 session
under a lock, since creating clients from a shared session is not thread-safe.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from ..auth.credentials import Credentials

# Executions run in parallel (Map, Parallel, many executions); beyond botocore's default 10
# pooled connections urllib3 would open and drop one per call, with a warning in the log.
MAX_POOL_CONNECTIONS = 50


class Clients:
    """Clients by (region, service, signer), each with the credentials it signs with."""

    def __init__(self, endpoint_url: str, timeout_s: float) -> None:
        self._endpoint_url = endpoint_url
        self._config = Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                              connect_timeout=timeout_s, read_timeout=timeout_s,
                              max_pool_connections=MAX_POOL_CONNECTIONS)
        self._session = boto3.session.Session()
        self._clients: dict[tuple[str, str, str], tuple[Credentials, Any]] = {}
        self._lock = threading.Lock()

    def get(self, region: str, service: str, signer: str, keys: Credentials) -> Any:
        """The client for ``service`` in ``region`` signing with ``keys``, which belong to ``signer``."""
        with self._lock:
            found = self._clients.get((region, service, signer))
            if found is not None and found[0] == keys:
                return found[1]
            client = self._session.client(service, region_name=region, endpoint_url=self._endpoint_url,
                                          config=self._config, **keys.as_client_kwargs())
            self._clients[(region, service, signer)] = (keys, client)
            return client
