"""Fixtures the local cloud's Lambda tests share (the suite-wide ones are in tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def iam(client):
    return client("iam")


def wait_until(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
