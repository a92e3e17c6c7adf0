"""Run the workbook's notebooks in order with papermill and report the first failure.

Each notebook is executed into an output folder (the sources stay untouched), with the
parameters injected after the cell tagged ``parameters``, the kernel ``python3`` of this
environment and the notebook's own folder as working directory (as in JupyterLab and nbval).
One progress line per notebook; the first failure stops the run with :class:`NotebookFailed`,
which names the notebook, the cell, its first line and the error.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import nbformat

from helpers import workspace

from .errors import NotebookFailed, RunnerError
from .locations import display

KERNEL_NAME = "python3"
DEFAULT_PARAMETERS = {"target": "local", "region": "us-east-1", "prefix": "workbook"}
# A cell that runs longer than this fails the run instead of hanging it.
DEFAULT_CELL_TIMEOUT_S = 900

_NOTEBOOK_NAME = re.compile(r"^(?P<number>\d\d)_[A-Za-z0-9_]+\.ipynb$")
# The kernel's own log (a warning about TCP on every start, "KeyboardInterrupt caught" when
# papermill stops it after an error) says nothing a learner can act on; cell errors still show.
_KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL",)


@dataclass(frozen=True)
class Result:
    notebook: str  # stem, e.g. "02_label_detector"
    output_path: Path
    seconds: float


# --- choosing notebooks -------------------------------------------------------------------------

def discover(notebooks_dir: Path | str | None = None) -> list[Path]:
    """The workbook's notebooks (``NN_name.ipynb``) in ``notebooks_dir`` (the checkout's), in order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else workspace.NOTEBOOKS_DIR
    return sorted(p for p in folder.glob("*.ipynb") if _NOTEBOOK_NAME.match(p.name))


def number(path: Path) -> int:
    match = _NOTEBOOK_NAME.match(path.name)
    if not match:
        raise RunnerError(f"{path.name} is not named like the workbook's notebooks (NN_name.ipynb)")
    return int(match["number"])


def is_cleanup(path: Path) -> bool:
    return path.stem.endswith("_cleanup")


def select(available: Sequence[Path], only: Iterable[str] | None = None, through: str | None = None) -> list[Path]:
    """Pick notebooks by number or name: ``only=["00", "02_label_detector"]``, or all up to ``through="06"``.

    With neither, every notebook except the cleanup one (``make run`` builds; ``make clean`` removes).
    """
    if only and through:
        raise RunnerError("use either --only or --through, not both")
    names = ", ".join(p.stem for p in available) or "none"
    if only:
        chosen = []
        for token in only:
            token = token.strip().removesuffix(".ipynb")
            hits = [p for p in available if token in (p.stem, p.stem[:2])]
            if not hits:
                raise RunnerError(f"no notebook {token!r}; the notebooks are: {names}")
            chosen += [p for p in hits if p not in chosen]
        return sorted(chosen, key=number)
    if through:
        try:
            last = int(through.strip()[:2])
        except ValueError:
            raise RunnerError(f"--through takes a notebook number such as 06; got {through!r}") from None
        return [p for p in available if number(p) <= last]
    return [p for p in available if not is_cleanup(p)]


def resolve(notebook: Path | str) -> Path:
    """The notebook file ``notebook`` names: a path (``.ipynb`` optional), or a workbook notebook's number or name."""
    path = Path(notebook)
    if not path.suffix:
        path = path.with_suffix(".ipynb")
    if not path.exists() and len(path.parts) == 1:
        # A bare name ("02" or "02_label_detector") means one of the workbook's notebooks.
        hits = select(discover(), only=[path.stem])
        path = hits[0]
    if not path.is_file():
        raise RunnerError(f"no notebook at {display(path)}")
    return path.resolve()


def _parameters_cell(nb: Any) -> int | None:
    for index, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return index
    return None


# --- the kernel ------------------------------------------------------------------------------------

def check_kernel(kernel_name: str = KERNEL_NAME) -> Path:
    """Fail unless ``kernel_name`` starts this environment's Python; return its kernelspec folder.

    ipykernel's own ``python3`` spec says ``python``, which jupyter_client replaces with the
    launching process's interpreter; ``ipykernel install --sys-prefix`` writes this
    environment's absolute path. A spec naming another interpreter (say a user-wide one that
    shadows the environment's) would run the notebooks without the workbook's packages.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    fix = f"{Path(sys.executable).name} -m ipykernel install --sys-prefix --name {kernel_name}"
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise RunnerError(f"no Jupyter kernel {kernel_name!r} in this environment; install it: {fix}") from None
    program = spec.argv[0]
    generic = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    if program not in generic and Path(os.path.abspath(program)).parent != Path(sys.executable).parent:
        raise RunnerError(
            f"the Jupyter kernel {kernel_name!r} ({spec.resource_dir}) runs {program}, not this environment's "
            f"Python {sys.executable}; reinstall it here: {fix}"
        )
    return Path(spec.resource_dir)


# --- running ---------------------------------------------------------------------------------------

def run(notebooks: Iterable[Path | str], parameters: dict[str, Any] | None = None,
        output_dir: Path | str = "output", *, kernel_name: str = KERNEL_NAME,
        cell_timeout: float | None = DEFAULT_CELL_TIMEOUT_S, prepare_only: bool = False,
        stream: TextIO | None = None) -> list[Result]:
    """Execute each notebook with papermill into ``output_dir``, in order; stop at the first failure.

    ``parameters`` are injected after each notebook's ``parameters`` cell (none: the defaults
    run). Each kernel starts in the notebook's own folder. ``prepare_only`` writes the
    parameterized copies without running them (for ``pytest --nbval-lax`` on a sandbox), with
    links to the notebooks' folder's other entries (``functions/``...) so relative paths work.
    Raises :class:`NotebookFailed` naming the notebook and cell.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = stream or sys.stdout
    paths = [resolve(n) for n in notebooks]
    if not paths:
        raise RunnerError("no notebooks to run")
    sources = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if _parameters_cell(nb) is None:
            raise RunnerError(f"{path.name} has no cell tagged 'parameters' (see docs/notebook-style.md)")
        sources[path] = nb
    if not prepare_only:
        check_kernel(kernel_name)
    target_dir = Path(output_dir)
    clashes = [p.name for p in paths if (target_dir / p.name).resolve() == p]
    if clashes:
        raise RunnerError(f"the output folder is the notebooks' own: {', '.join(clashes)} would be overwritten")
    target_dir.mkdir(parents=True, exist_ok=True)
    if prepare_only:
        _link_siblings(paths, target_dir)
    logging.getLogger("papermill").setLevel(logging.ERROR)  # our own progress lines say enough

    results: list[Result] = []
    for position, path in enumerate(paths, 1):
        out.write(f"[{position}/{len(paths)}] {path.stem} ... ")
        out.flush()
        output_path = target_dir / path.name
        started = time.monotonic()
        try:
            papermill.execute_notebook(
                str(path), str(output_path), parameters=dict(parameters or {}), kernel_name=kernel_name,
                cwd=str(path.parent), progress_bar=False, log_output=False, prepare_only=prepare_only,
                execution_timeout=cell_timeout, extra_arguments=list(_KERNEL_ARGUMENTS),
            )
        except PapermillExecutionError as exc:
            out.write(f"FAILED ({time.monotonic() - started:.1f} s)\n")
            out.flush()
            raise _failure(path, sources[path], bool(parameters), exc, output_path) from None
        except Exception as exc:  # a dead kernel, a cell timeout: papermill does not wrap those
            out.write(f"FAILED ({time.monotonic() - started:.1f} s)\n")
            out.flush()
            cell, first_line = _running_cell(output_path, sources[path], bool(parameters))
            raise NotebookFailed(path.stem, cell=cell, exec_count=None, first_line=first_line,
                                 ename=type(exc).__name__, evalue=str(exc).strip(),
                                 output_path=output_path if output_path.exists() else None) from exc
        seconds = time.monotonic() - started
        out.write(("prepared" if prepare_only else f"ok ({seconds:.1f} s)") + "\n")
        out.flush()
        results.append(Result(path.stem, output_path, seconds))
    return results


def _source_position(nb: Any, executed_index: int, injected: bool) -> int | None:
    """1-based position in the source notebook of the executed notebook's cell ``executed_index``."""
    params = _parameters_cell(nb)
    if injected and params is not None and executed_index > params:
        if executed_index == params + 1:
            return None  # papermill's injected-parameters cell itself
        executed_index -= 1
    return executed_index + 1


def _first_line(source: str) -> str:
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def _failure(path: Path, nb: Any, injected: bool, exc: Any, output_path: Path) -> NotebookFailed:
    return NotebookFailed(
        path.stem,
        cell=_source_position(nb, exc.cell_index, injected),
        exec_count=exc.exec_count,
        first_line=_first_line(exc.source),
        ename=exc.ename,
        evalue=str(exc.evalue),
        output_path=output_path,
    )


def _running_cell(output_path: Path, nb: Any, injected: bool) -> tuple[int | None, str]:
    """The cell papermill had marked running in the executed copy, if it got that far."""
    try:
        executed = nbformat.read(output_path, as_version=4)
    except (OSError, ValueError):
        return None, ""
    for index, cell in enumerate(executed.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            return _source_position(nb, index, injected), _first_line(cell.source)
    return None, ""


def _link_siblings(paths: list[Path], target_dir: Path) -> None:
    """Link the notebooks' folder's other entries (functions/, images...) into a prepared folder."""
    for folder in {p.parent for p in paths}:
        if folder == target_dir.resolve():
            continue
        for entry in folder.iterdir():
            if entry.suffix == ".ipynb" or entry.name.startswith("."):
                continue
            link = target_dir / entry.name
            if link.is_symlink() or not link.exists():
                link.unlink(missing_ok=True)
                link.symlink_to(entry)
