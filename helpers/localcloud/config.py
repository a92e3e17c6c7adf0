"""Where the local cloud listens and keeps its state.

Everything that varies between two local clouds on one machine (port, state folder)
is derived here, so a test suite can run its own instance beside a learner's.
"""

from __future__ import annotations

import os
from pathlib import Path

HOST = "127.0.0.1"  # loopback only: the local cloud accepts any credentials
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
# moto's default account; notebooks sanitize it and the pre-stop check allows it.
ACCOUNT_ID = "123456789012"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

_REPO_ROOT = Path(__file__).resolve().parents[2]


def default_port() -> int:
    return int(os.environ.get("LOCALCLOUD_PORT", DEFAULT_PORT))


def endpoint_url(port: int) -> str:
    return f"http://{HOST}:{port}"


def state_root() -> Path:
    """Git-ignored folder holding every instance's pid file, log and Lambda code."""
    return Path(os.environ.get("LOCALCLOUD_HOME", _REPO_ROOT / ".localcloud"))


def instance_dir(port: int) -> Path:
    return state_root() / str(port)


def model_cache_dir() -> Path:
    """Git-ignored folder holding the vision model converted to ONNX, shared by every instance.

    Apart from ``state_root()`` on purpose: test suites give each local cloud a fresh state
    folder, and none of them should convert the model again.
    """
    return Path(os.environ.get("LOCALCLOUD_MODEL_CACHE", _REPO_ROOT / ".localcloud" / "models"))
