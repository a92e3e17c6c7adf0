"""The server limits numpy's BLAS to one thread (server.py): OpenBLAS's idle workers spin, and
DetectLabels' matrix product per image kept a second core busy. OpenBLAS reads the setting
once, when numpy is imported, so nothing may import numpy before ``serve`` sets it."""

from __future__ import annotations

import os
import subprocess
import sys

from localcloud import server
from tests.support import REPO


def test_the_limit_is_set_unless_the_user_chose_one(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    server.limit_blas_threads()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    server.limit_blas_threads()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"


def test_the_servers_entry_point_does_not_import_numpy_before_serve():
    code = "import sys, localcloud.__main__, localcloud.server; print('numpy' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
