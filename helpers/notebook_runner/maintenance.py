"""Maintainers' runs of the committed notebooks, each against a fresh local cloud of its own.

- :func:`refresh` (``make notebooks``) executes the committed notebooks with their default
  parameters, then writes them back in place in the committed form (:func:`normalize`),
  after checking that no output holds a machine path. Nothing is written unless every
  notebook ran.
- :func:`nbval` (``make test``) runs ``pytest --nbval`` (strict, with
  ``tests/nbval_sanitize.cfg``) on them, so a test run never touches a learner's local cloud
  and starts from nothing, as the committed outputs did.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import nbformat

from helpers import workspace

from . import locations
from .committed_form import check_machine_paths, normalize
from .errors import MachinePathError, RunnerError
from .fresh_cloud import fresh_localcloud
from .locations import display
from .running import discover, resolve, run


def refresh(notebooks: Iterable[Path | str] | None = None, *, work_dir: Path | str | None = None,
            localcloud: bool = True, stream: TextIO | None = None) -> list[Path]:
    """Re-run the committed notebooks against a fresh local cloud and write them back, normalized.

    They run with their own default parameters (no injected cell) into ``work_dir``
    (``output/refresh/``); only when every one ran and none of their outputs holds a machine
    path are the sources overwritten. ``localcloud=False`` skips the fresh local cloud (for
    notebooks that need none).
    """
    out = stream or sys.stdout
    paths = [resolve(n) for n in notebooks] if notebooks is not None else discover()
    if not paths:
        raise RunnerError(f"no notebooks to refresh in {display(workspace.NOTEBOOKS_DIR)}")
    work = Path(work_dir) if work_dir is not None else locations.OUTPUT_DIR / "refresh"
    replacements: dict[str, str] = {}
    with fresh_localcloud() if localcloud else contextlib.nullcontext() as instance:
        if instance is not None:
            from localcloud import config

            out.write(f"a fresh local cloud for this refresh at {instance.endpoint}\n")
            replacements = {f"{config.HOST}:{instance.port}": f"{config.HOST}:{config.DEFAULT_PORT}",
                            f"localhost:{instance.port}": f"localhost:{config.DEFAULT_PORT}"}
        run(paths, parameters=None, output_dir=work, stream=out)
    refreshed, problems = [], []
    for path in paths:
        nb = normalize(nbformat.read(work / path.name, as_version=4), replacements)
        problems += check_machine_paths(nb, path.name)
        refreshed.append((path, nb))
    if problems:
        raise MachinePathError(
            "outputs hold paths of this machine; print paths relative to the repository "
            "(nothing was written):\n  " + "\n  ".join(problems)
        )
    for path, nb in refreshed:
        nbformat.validate(nb)
        nbformat.write(nb, path)
        out.write(f"refreshed {display(path)}\n")
    return [path for path, _ in refreshed]


def nbval(notebooks: Iterable[Path | str] | None = None, pytest_args: Sequence[str] = (), *,
          lax: bool = False, localcloud: bool = True) -> int:
    """``pytest --nbval`` (or ``--nbval-lax``) on the notebooks, against a fresh local cloud; pytest's exit code.

    Strict mode compares every output with the committed one after ``tests/nbval_sanitize.cfg``;
    the kernel is this environment's (``--nbval-current-env``). Each kernel starts in its
    notebook's folder and finds the fresh local cloud through ``LOCALCLOUD_PORT``.
    """
    paths = [resolve(n) for n in notebooks] if notebooks is not None else discover()
    if not paths:
        print(f"nbval: no notebooks in {display(workspace.NOTEBOOKS_DIR)}; nothing to check")
        return 0
    command = [sys.executable, "-m", "pytest", "--nbval-lax" if lax else "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", str(locations.SANITIZE_FILE), "-p", "no:cacheprovider",
               *pytest_args, *map(str, paths)]
    with fresh_localcloud() if localcloud else contextlib.nullcontext():
        return subprocess.call(command, cwd=workspace.REPO_ROOT)
