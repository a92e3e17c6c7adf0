"""Runs the workbook's notebooks in order with papermill, and refreshes the committed ones.

Command line (``make run``, ``make clean``, ``make notebooks`` and ``make test`` call it)::

    python -m helpers.notebook_runner [run] [--target local] [--region us-east-1] [--prefix workbook]
                                      [--only 00,01 | --through 07] [--output output]
    python -m helpers.notebook_runner refresh         # maintainers: re-run the committed notebooks in place
    python -m helpers.notebook_runner nbval [--lax]   # pytest --nbval on them, against a fresh local cloud

From Python: ``run(notebooks, parameters, output_dir="output")``.

- **run** executes each notebook with papermill into ``output/`` (the sources stay untouched),
  with the parameters injected after the cell tagged ``parameters``, the kernel ``python3`` of
  this environment and the notebook's own folder as working directory (as in JupyterLab and
  nbval). It prints one progress line per notebook and stops at the first failure with
  :class:`NotebookFailed`, which names the notebook, the cell, its first line and the error.
  After a run that includes 05_api or later, it prints the URL of the REST API the prefix
  deployed, read from the target itself (the local cloud's status, or API Gateway on AWS).
- **refresh** executes the committed notebooks with their default parameters against a fresh
  local cloud of its own (free port, temporary state folder), then writes them back in place,
  normalized for committing (:func:`normalize`), after checking that no output holds a
  machine path (:func:`check_machine_paths`). Nothing is written unless every notebook ran.
- **nbval** runs ``pytest --nbval`` (strict, with ``tests/nbval_sanitize.cfg``) on the
  committed notebooks against a fresh local cloud of its own, so a test run never touches a
  learner's local cloud and starts from nothing, as the committed outputs did.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
OUTPUT_DIR = REPO_ROOT / "output"
SANITIZE_FILE = REPO_ROOT / "tests" / "nbval_sanitize.cfg"
KERNEL_NAME = "python3"
# The kernelspec committed notebooks carry: ipykernel's own, so saving in JupyterLab changes nothing.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
DEFAULT_PARAMETERS = {"target": "local", "region": "us-east-1", "prefix": "workbook"}
# A cell that runs longer than this fails the run instead of hanging it.
DEFAULT_CELL_TIMEOUT_S = 900
# Runs that include this notebook (or a later one) end by printing the API's URL.
API_NOTEBOOK = 5

_NOTEBOOK_NAME = re.compile(r"^(?P<number>\d\d)_[A-Za-z0-9_]+\.ipynb$")
# Cell metadata that records how a run went rather than what the author wrote.
_RUN_METADATA = ("papermill", "execution", "ExecuteTime")
_GENERATED_CELL_TAGS = ("injected-parameters", "papermill-error-cell-tag")
# The kernel's own log (a warning about TCP on every start, "KeyboardInterrupt caught" when
# papermill stops it after an error) says nothing a learner can act on; cell errors still show.
_KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL",)


class RunnerError(RuntimeError):
    """The notebooks could not be run or refreshed; the message says why and what to do."""


class NotebookFailed(RunnerError):
    """A notebook raised: names the notebook, the cell (1-based, as in the source), its first line and the error."""

    def __init__(self, notebook: str, *, cell: int | None, exec_count: int | None, first_line: str,
                 ename: str, evalue: str, output_path: Path | None) -> None:
        self.notebook = notebook
        self.cell = cell
        self.exec_count = exec_count
        self.first_line = first_line
        self.ename = ename
        self.evalue = evalue
        self.output_path = output_path
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"cell {self.cell}" if self.cell else "a cell"
        if self.exec_count:
            where += f" (In [{self.exec_count}])"
        lines = [f"{self.notebook} failed at {where}"]
        if self.first_line:
            lines[0] += ", which starts with:"
            lines.append(f"    {self.first_line}")
        lines.append(f"{self.ename}: {self.evalue}" if self.evalue else self.ename)
        if self.output_path is not None:
            lines.append(f"the executed copy, with the full traceback: {_display(self.output_path)}")
        return "\n".join(lines)


class MachinePathError(RunnerError):
    """A notebook output holds a path of this machine (the repository, the home folder, a temp folder)."""


@dataclass(frozen=True)
class Result:
    notebook: str  # stem, e.g. "02_label_detector"
    output_path: Path
    seconds: float


# --- choosing notebooks -------------------------------------------------------------------------

def discover(notebooks_dir: Path | str = NOTEBOOKS_DIR) -> list[Path]:
    """The workbook's notebooks (``NN_name.ipynb``) in ``notebooks_dir``, in order."""
    folder = Path(notebooks_dir)
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


def _resolve(notebook: Path | str) -> Path:
    path = Path(notebook)
    if not path.suffix:
        path = path.with_suffix(".ipynb")
    if not path.exists() and len(path.parts) == 1:
        # A bare name ("02" or "02_label_detector") means one of the workbook's notebooks.
        hits = select(discover(), only=[path.stem])
        path = hits[0]
    if not path.is_file():
        raise RunnerError(f"no notebook at {_display(path)}")
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
    paths = [_resolve(n) for n in notebooks]
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


# --- the API URL -----------------------------------------------------------------------------------

def api_url(target: str, region: str, prefix: str, *, port: int | None = None) -> str | None:
    """The base URL of the REST API deployed for ``prefix`` (``POST {url}/images``), or None if there is none.

    Read from the target itself, without switching this process's target: locally from the
    local cloud's status report (``/_localcloud/status``), on AWS from API Gateway's
    GetRestApis with the environment's credentials (``AWS_PROFILE``...). The URL has the
    form ``helpers.api.invoke_url`` gives the notebooks.
    """
    from .names import API_STAGE, Names

    name = Names(prefix=prefix, account_id="123456789012", region=region).api
    if target == "local":
        from localcloud import process

        report = process.status(port)
        return _api_url_from_status(report, name, region, API_STAGE) if report else None
    import boto3

    client = boto3.session.Session(region_name=region).client("apigateway")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    for page in client.get_paginator("get_rest_apis").paginate():
        for item in page.get("items", []):
            if item.get("name") == name:
                return f"https://{item['id']}.execute-api.{region}.{suffix}/{API_STAGE}"
    return None


def _api_url_from_status(report: dict[str, Any], name: str, region: str, stage: str) -> str | None:
    for api in report.get("rest_apis", []):
        if api.get("name") == name and api.get("region") == region and stage in api.get("stages", {}):
            return api["stages"][stage].rstrip("/")
    return None


# --- a fresh local cloud ---------------------------------------------------------------------------

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

    saved = {key: os.environ.get(key) for key in ("LOCALCLOUD_PORT", "LOCALCLOUD_HOME")}
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


# --- refresh: normalize and check --------------------------------------------------------------------

def normalize(nb: Any, replacements: dict[str, str] | None = None) -> Any:
    """A copy of an executed notebook as it is committed.

    Drops what records how the run went (papermill's and nbclient's metadata, cells papermill
    inserted, the Python patch version), sets the plain ``python3`` kernelspec, keeps every
    output, merges consecutive stream outputs of one stream (their split depends on timing),
    shows ``%%writefile`` as a first run does ("Writing"), and applies ``replacements`` to
    output text (refresh maps its own local cloud's port back to the default 4566).
    """
    nb = _copy(nb)
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    language_info = nb.metadata.get("language_info")
    if isinstance(language_info, dict):
        language_info.pop("version", None)
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(tag in tags for tag in _GENERATED_CELL_TAGS):
            continue
        for key in _RUN_METADATA:
            cell.metadata.pop(key, None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
            writefile = cell.source.lstrip().startswith("%%writefile")
            for output in cell.outputs:
                _rewrite_output(output, replacements or {}, writefile)
        cells.append(cell)
    nb.cells = cells
    return nb


def _copy(nb: Any) -> Any:
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def _merge_streams(outputs: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] = previous["text"] + output["text"]
        else:
            merged.append(output)
    return merged


def _rewrite_output(output: Any, replacements: dict[str, str], writefile: bool) -> None:
    def fix(text: str) -> str:
        for old, new in replacements.items():
            text = text.replace(old, new)
        if writefile:
            text = re.sub(r"(?m)^Overwriting ", "Writing ", text)
        return text

    if "text" in output:
        output["text"] = fix(output["text"])
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str) and not mime.startswith("image/"):
            output["data"][mime] = fix(value)


def machine_paths() -> list[str]:
    """Path fragments that only make sense on this machine: the repository, the home folder, temp folders."""
    found = {str(REPO_ROOT), os.path.realpath(REPO_ROOT), "/tmp/", "/var/folders/", "/private/var/"}
    found.add(tempfile.gettempdir().rstrip("/") + "/")
    home = str(Path.home()).rstrip("/")
    if home:  # not when the home folder is /
        found.add(home + "/")
    return sorted(found, key=len, reverse=True)


def _output_texts(output: Any) -> Iterator[str]:
    if isinstance(output.get("text"), str):
        yield output["text"]
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str) and not mime.startswith("image/"):
            yield value
    if output.get("output_type") == "error":
        yield output.get("evalue", "")
        yield from output.get("traceback", [])


def check_machine_paths(nb: Any, name: str, forbidden: Sequence[str] | None = None) -> list[str]:
    """Where ``nb``'s outputs hold a machine path, as ``"name cell N: ...text..."`` lines (empty: clean)."""
    forbidden = list(forbidden) if forbidden is not None else machine_paths()
    problems = []
    for position, cell in enumerate(nb.cells, 1):
        for output in cell.get("outputs", []):
            for text in _output_texts(output):
                for fragment in forbidden:
                    at = text.find(fragment)
                    if at >= 0:
                        snippet = text[max(0, at - 30): at + len(fragment) + 30].replace("\n", " ")
                        problems.append(f"{name} cell {position}: output contains {fragment!r}: ...{snippet}...")
                        break
    return problems


def refresh(notebooks: Iterable[Path | str] | None = None, *, work_dir: Path | str | None = None,
            localcloud: bool = True, stream: TextIO | None = None) -> list[Path]:
    """Re-run the committed notebooks against a fresh local cloud and write them back, normalized.

    They run with their own default parameters (no injected cell) into ``work_dir``
    (``output/refresh/``); only when every one ran and none of their outputs holds a machine
    path are the sources overwritten. ``localcloud=False`` skips the fresh local cloud (for
    notebooks that need none).
    """
    out = stream or sys.stdout
    paths = [_resolve(n) for n in notebooks] if notebooks is not None else discover()
    if not paths:
        raise RunnerError(f"no notebooks to refresh in {_display(NOTEBOOKS_DIR)}")
    work = Path(work_dir) if work_dir is not None else OUTPUT_DIR / "refresh"
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
        out.write(f"refreshed {_display(path)}\n")
    return [path for path, _ in refreshed]


# --- nbval -----------------------------------------------------------------------------------------

def nbval(notebooks: Iterable[Path | str] | None = None, pytest_args: Sequence[str] = (), *,
          lax: bool = False, localcloud: bool = True) -> int:
    """``pytest --nbval`` (or ``--nbval-lax``) on the notebooks, against a fresh local cloud; pytest's exit code.

    Strict mode compares every output with the committed one after ``tests/nbval_sanitize.cfg``;
    the kernel is this environment's (``--nbval-current-env``). Each kernel starts in its
    notebook's folder and finds the fresh local cloud through ``LOCALCLOUD_PORT``.
    """
    paths = [_resolve(n) for n in notebooks] if notebooks is not None else discover()
    if not paths:
        print(f"nbval: no notebooks in {_display(NOTEBOOKS_DIR)}; nothing to check")
        return 0
    command = [sys.executable, "-m", "pytest", "--nbval-lax" if lax else "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", str(SANITIZE_FILE), "-p", "no:cacheprovider",
               *pytest_args, *map(str, paths)]
    with fresh_localcloud() if localcloud else contextlib.nullcontext():
        return subprocess.call(command, cwd=REPO_ROOT)


# --- command line ----------------------------------------------------------------------------------

def _display(path: Path | str) -> str:
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.notebook_runner",
        description="Run the workbook's notebooks in order with papermill (run), re-run the committed "
        "notebooks in place for committing (refresh), or check them with pytest --nbval against a fresh "
        "local cloud (nbval).",
    )
    parser.add_argument("mode", nargs="?", choices=("run", "refresh", "nbval"), default="run",
                        help="run (default): into --output; refresh: in place; nbval: pytest --nbval "
                        "(further pytest arguments after --)")
    parser.add_argument("--target", default=DEFAULT_PARAMETERS["target"], choices=("local", "aws"),
                        help="local (default) or aws")
    parser.add_argument("--region", default=DEFAULT_PARAMETERS["region"], help="default us-east-1")
    parser.add_argument("--prefix", default=DEFAULT_PARAMETERS["prefix"], help="default workbook")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="another notebook parameter, e.g. -p max_labels 5 (Python literal or text)")
    parser.add_argument("--only", help="comma-separated notebooks, by number or name: 00,01")
    parser.add_argument("--through", help="every notebook up to this number: 06")
    parser.add_argument("--output", default=str(OUTPUT_DIR), help="folder for executed copies (default output/)")
    parser.add_argument("--notebooks", default=str(NOTEBOOKS_DIR), help="folder of the notebooks (default notebooks/)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT_S,
                        help=f"seconds a cell may run (default {DEFAULT_CELL_TIMEOUT_S})")
    parser.add_argument("--prepare-only", action="store_true",
                        help="write the parameterized copies without running them (for pytest --nbval-lax)")
    parser.add_argument("--lax", action="store_true", help="nbval mode: --nbval-lax instead of strict --nbval")
    args, rest = parser.parse_known_args(argv)
    if rest and args.mode != "nbval":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    try:
        available = discover(args.notebooks)
        chosen = select(available, args.only.split(",") if args.only else None, args.through)
        if args.mode == "nbval":
            only_given = args.only or args.through
            return nbval(chosen if only_given else available, rest, lax=args.lax)
        if args.mode == "refresh":
            refresh(chosen if (args.only or args.through) else available)
            return 0
        parameters = {"target": args.target, "region": args.region, "prefix": args.prefix}
        parameters.update({name: _value(value) for name, value in args.parameter})
        results = run(chosen, parameters, args.output, cell_timeout=args.cell_timeout or None,
                      prepare_only=args.prepare_only)
    except NotebookFailed as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except RunnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    if args.prepare_only:
        print(f"prepared {len(results)} notebook(s) in {_display(args.output)}")
        return 0
    print(f"ran {len(results)} notebook(s) in {sum(r.seconds for r in results):.1f} s; executed copies in "
          f"{_display(args.output)}")
    if any(number(Path(r.output_path)) >= API_NOTEBOOK and not is_cleanup(Path(r.output_path)) for r in results):
        _print_api_url(args.target, args.region, args.prefix)
    return 0


def _print_api_url(target: str, region: str, prefix: str) -> None:
    try:
        url = api_url(target, region, prefix)
    except Exception as exc:  # the run succeeded; a failed look-up only loses the hint
        print(f"(could not look up the API's URL: {type(exc).__name__}: {exc})")
        return
    if url is None:
        print(f"(no REST API {prefix}-image-api is deployed on {target} in {region})")
        return
    print(f"API: {url}")
    print(f"  try it: curl -H 'Content-Type: image/png' --data-binary @image.png {url}/images")
    print(f"  several: curl -F 'images=@a.png;type=image/png' -F 'images=@b.jpg;type=image/jpeg' {url}/images")


if __name__ == "__main__":
    sys.exit(main())
