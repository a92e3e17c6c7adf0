"""A local cloud of its own for a maintainer's run, so it never touches a learner's and starts from nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

_VARIABLES = ("LOCALCLOUD_PORT", "LOCALCLOUD_HOME")


def _free_port() -> int:
    from localcloud import config

    with socket.socket() as sock:
        sock.bind((config.HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def fresh_localcloud() -> Iterator[Any]:
    """A local cloud of its own (free port, temporary state folder) for the block, then stopped.

    Sets ``LOCALCLOUD_PORT`` and ``LOCALCLOUD_HOME`` in this process's environment for the
    block, so kernels started inside it (papermill's, nbval's) find this instance through
    ``helpers.target.use("local")``. Yields the :class:`localcloud.Instance`.
    """
    from localcloud import process

    saved = {key: os.environ.get(key) for key in _VARIABLES}
    home = tempfile.mkdtemp(prefix="workbook-localcloud-")
    port = _free_port()
    os.environ.update(LOCALCLOUD_PORT=str(port), LOCALCLOUD_HOME=home)
    try:
        yield process.start(port)
    finally:
        try:
            process.stop(port)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            shutil.rmtree(home, ignore_errors=True)
