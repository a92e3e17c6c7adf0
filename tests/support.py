"""Helpers the tests share, each defined once: the checkout, unique names, free ports and the
local cloud's command line.

Fixtures live in ``conftest.py``; stub Lambda sources in ``tests/localcloud/lambdas.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from localcloud import config

REPO = Path(__file__).resolve().parents[1]


def unique(prefix: str) -> str:
    """``prefix`` and a random suffix: the session's local cloud is shared, so names must not clash."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    """A port nothing listens on now, for a local cloud of a test's own."""
    with socket.socket() as sock:
        sock.bind((config.HOST, 0))
        return sock.getsockname()[1]


def localcloud_cli(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``python -m localcloud ARGS`` run from the checkout, output captured; ``env`` adds variables."""
    return subprocess.run([sys.executable, "-m", "localcloud", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env})
