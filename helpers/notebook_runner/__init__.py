"""Runs the workbook's notebooks in order with papermill, and refreshes the committed ones.

Command line (``make run``, ``make clean``, ``make notebooks`` and ``make test`` call it)::

    python -m helpers.notebook_runner [run] [--target local] [--region us-east-1] [--prefix workbook]
                                      [--only 00,01 | --through 07] [--output output]
    python -m helpers.notebook_runner refresh         # maintainers: re-run the committed notebooks in place
    python -m helpers.notebook_runner nbval [--lax]   # pytest --nbval on them, against a fresh local cloud

From Python: ``run(notebooks, parameters, output_dir="output")``.

- **run** (:mod:`.running`) executes each notebook with papermill into ``output/`` (the
  sources stay untouched) and stops at the first failure with :class:`NotebookFailed`
  (:mod:`.errors`), which names the notebook, the cell, its first line and the error. After
  a run that includes 05_api or later, the command line (:mod:`.cli`) prints the URL of the
  REST API the prefix deployed, found on the target itself (:mod:`.deployed_api`).
- **refresh** and **nbval** (:mod:`.maintenance`) run the committed notebooks against a
  fresh local cloud of their own (:mod:`.fresh_cloud`): refresh writes them back in the
  committed form (:mod:`.committed_form`), nbval compares their outputs with ``pytest --nbval``.

``OUTPUT_DIR`` and ``SANITIZE_FILE`` (and ``REPO_ROOT``, ``NOTEBOOKS_DIR``; :mod:`.locations`)
are read from the checkout on use.
"""

from __future__ import annotations

from pathlib import Path

from . import locations
from .cli import API_NOTEBOOK, main
from .committed_form import KERNELSPEC, check_machine_paths, machine_paths, normalize, output_texts
from .deployed_api import api_url
from .errors import MachinePathError, NotebookFailed, RunnerError
from .fresh_cloud import fresh_localcloud
from .maintenance import nbval, refresh
from .running import (
    DEFAULT_CELL_TIMEOUT_S,
    DEFAULT_PARAMETERS,
    KERNEL_NAME,
    Result,
    check_kernel,
    discover,
    is_cleanup,
    number,
    run,
    select,
)

__all__ = [
    "API_NOTEBOOK",
    "DEFAULT_CELL_TIMEOUT_S",
    "DEFAULT_PARAMETERS",
    "KERNELSPEC",
    "KERNEL_NAME",
    "MachinePathError",
    "NotebookFailed",
    "Result",
    "RunnerError",
    "api_url",
    "check_kernel",
    "check_machine_paths",
    "discover",
    "fresh_localcloud",
    "is_cleanup",
    "machine_paths",
    "main",
    "nbval",
    "normalize",
    "number",
    "output_texts",
    "refresh",
    "run",
    "select",
]


def __getattr__(name: str) -> Path:
    # The checkout's folders, read only when used (see .locations).
    try:
        return getattr(locations, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
