"""Where the runner reads and writes in the checkout, and how it shows a path to the reader.

The folders come from :mod:`helpers.workspace` when they are read (PEP 562), not when the
runner is imported: importing it outside a checkout works, and only using a folder needs one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from helpers import workspace

_PATHS = {
    "OUTPUT_DIR": ("output",),
    "SANITIZE_FILE": ("tests", "nbval_sanitize.cfg"),
}


# The checkout's own folders, under the names the runner gave them before helpers.workspace.
_WORKSPACE_PATHS = ("REPO_ROOT", "NOTEBOOKS_DIR")


def __getattr__(name: str) -> Path:
    if name in _PATHS:
        return workspace.root().joinpath(*_PATHS[name])
    if name in _WORKSPACE_PATHS:
        return getattr(workspace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def display(path: Path | str) -> str:
    """``path`` relative to the working folder when it is inside it (shorter, and what a reader typed)."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)
