"""The workbook's embedded local cloud: moto's server mode plus what moto lacks.

Start it from a shell with ``python -m localcloud start``; from Python,
:func:`ensure_running` starts it on demand and returns its endpoint.
"""

from __future__ import annotations

from .config import DEFAULT_PORT, DEFAULT_REGION, endpoint_url
from .process import Instance, LocalCloudError, find, start, stop


def ensure_running(port: int | None = None) -> str:
    """Start the local cloud unless a healthy one answers on ``port``; return its endpoint."""
    return start(port).endpoint


__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_REGION",
    "Instance",
    "LocalCloudError",
    "endpoint_url",
    "ensure_running",
    "find",
    "start",
    "stop",
]
