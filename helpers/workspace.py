"""Where the notebooks being run keep their files: the committed workbook, or a student copy.

The committed notebooks run in ``notebooks/``: their ``%%writefile`` cells write
``notebooks/functions/`` and 04 saves ``statemachine/image_pipeline.asl.json``. A student copy
(``make student``) runs in ``student/``, which has its own ``functions/`` and
``statemachine/``, so a learner's half-done code never overwrites the committed files. The
workspace is the kernel's working folder when it holds a ``functions/`` folder (Jupyter and
papermill start kernels in the notebook's folder), else the committed ``notebooks/``.

Modules the notebooks do not teach (the PNG/JPEG checks, the multipart parser) are provided,
committed in ``notebooks/provided/``; they win over a file of the same name in ``functions/``
(an older notebook wrote them there, and a stale copy must not be deployed instead).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROVIDED_DIR = NOTEBOOKS_DIR / "provided"


def notebooks_dir() -> Path:
    here = Path.cwd()
    return here if (here / "functions").is_dir() else NOTEBOOKS_DIR


def functions_dir() -> Path:
    return notebooks_dir() / "functions"


def statemachine_dir() -> Path:
    root = notebooks_dir()
    return REPO_ROOT / "statemachine" if root.resolve() == NOTEBOOKS_DIR.resolve() else root / "statemachine"


def module_path(name: str, beside: Path) -> Path:
    """The provided ``NAME.py`` if there is one, else the one written beside the function."""
    provided = PROVIDED_DIR / f"{name}.py"
    return provided if provided.exists() else beside / f"{name}.py"
