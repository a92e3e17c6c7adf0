"""Where the workbook's files are: the one place that finds the checkout and the folders in it.

**The checkout** (data/, notebooks/, statemachine/, build/) is found once, in this order:

1. ``WORKBOOK_HOME``, when set;
2. the folder holding this package, when it is a checkout (``make setup`` installs the helpers
   in editable mode, so this is the usual case);
3. the working folder or the nearest folder above it that looks like the workbook (it holds
   ``notebooks/``, ``data/`` and ``statemachine/``): after a plain ``pip install .`` the helpers
   live in site-packages, and a kernel runs in the checkout's ``notebooks/`` or ``student/``.

Reading a path when none of these finds the workbook raises :class:`WorkbookNotFound`, which
says what to do; importing the helpers never does.

**The workspace** is where the notebooks being run keep their files: the committed workbook, or
a student copy. The committed notebooks run in ``notebooks/``: their ``%%writefile`` cells write
``notebooks/functions/`` and 04 saves ``statemachine/image_pipeline.asl.json``. A student copy
(``make student``) runs in ``student/``, which has its own ``functions/`` and ``statemachine/``,
so a learner's half-done code never overwrites the committed files. The workspace is the
kernel's working folder when it holds a ``functions/`` folder (Jupyter and papermill start
kernels in the notebook's folder), else the committed ``notebooks/``.

Modules the notebooks do not teach (the PNG/JPEG checks, the multipart parser) are provided,
committed in ``notebooks/provided/``; they win over a file of the same name in ``functions/``
(an older notebook wrote them there, and a stale copy must not be deployed instead).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

HOME_VARIABLE = "WORKBOOK_HOME"
_MARKERS = ("notebooks", "data", "statemachine")


class WorkbookNotFound(RuntimeError):
    """No folder holding the workbook's notebooks, data and state machine was found."""


def _is_workbook(folder: Path) -> bool:
    return all((folder / marker).is_dir() for marker in _MARKERS)


@functools.cache
def root() -> Path:
    """The checkout's folder (see the module's docstring for how it is found)."""
    explicit = os.environ.get(HOME_VARIABLE)
    if explicit:
        folder = Path(explicit).expanduser().resolve()
        if not _is_workbook(folder):
            raise WorkbookNotFound(f"{HOME_VARIABLE}={explicit} does not hold the workbook's "
                                   f"{', '.join(m + '/' for m in _MARKERS)} folders")
        return folder
    beside = Path(__file__).resolve().parents[1]
    if _is_workbook(beside):
        return beside
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_workbook(folder):
            return folder
    raise WorkbookNotFound(
        f"the workbook's folder (with {', '.join(m + '/' for m in _MARKERS)}) was not found from {here}: "
        f"run from inside your checkout of the workbook, or set {HOME_VARIABLE} to it")


_PATHS = {
    "REPO_ROOT": (),
    "NOTEBOOKS_DIR": ("notebooks",),
    "PROVIDED_DIR": ("notebooks", "provided"),
    "DATA_DIR": ("data",),
    "BUILD_DIR": ("build",),
    "STUDENT_DIR": ("student",),
    "COMMITTED_STATEMACHINE_DIR": ("statemachine",),
}


def __getattr__(name: str) -> Path:
    # The folders are attributes read on use (PEP 562), so importing a helper outside a
    # checkout works and only reading a path needs the workbook.
    if name in _PATHS:
        return root().joinpath(*_PATHS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def notebooks_dir() -> Path:
    here = Path.cwd()
    return here if (here / "functions").is_dir() else root() / "notebooks"


def functions_dir() -> Path:
    return notebooks_dir() / "functions"


def statemachine_dir() -> Path:
    here = notebooks_dir()
    committed = root() / "notebooks"
    return root() / "statemachine" if here.resolve() == committed.resolve() else here / "statemachine"


def module_path(name: str, beside: Path) -> Path:
    """The provided ``NAME.py`` if there is one, else the one written beside the function."""
    provided = root() / "notebooks" / "provided" / f"{name}.py"
    return provided if provided.exists() else beside / f"{name}.py"
