"""The Lambda code a committed notebook writes, for the handler tests.

The notebooks are the single source of a function's code: each writes it with one
``%%writefile functions/NAME.py`` cell and, for longer code, ``%%writefile -a`` cells after
it. The handler tests take the code from that cell, not from ``notebooks/functions/`` (not
committed, and possibly edited by a learner), so they test exactly what the notebook deploys.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
PROVIDED_DIR = NOTEBOOKS_DIR / "provided"
_loaded = itertools.count()


def function_source(notebook: str | Path, name: str) -> str:
    """The text the notebook writes to ``functions/NAME.py`` (magic lines removed).

    ``notebook`` is a file name in notebooks/ ("01_image_uploader.ipynb") or a path. Exactly
    one cell must start the file (``%%writefile functions/NAME.py``); cells after it with
    ``%%writefile -a functions/NAME.py`` append to it, in order, as the kernel does when they
    run top to bottom. No start, several starts or an append before the start is an error
    naming the notebook.
    """
    path = _notebook_path(notebook)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    target = f"functions/{name}.py"
    parts: list[str] = []
    starts = 0
    for cell in cells:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        first, _, body = source.partition("\n")
        words = first.split()
        if cell["cell_type"] != "code" or not words or words[0] != "%%writefile" or words[-1] != target:
            continue
        body = body if body.endswith("\n") else body + "\n"  # %%writefile ends what it writes with a newline
        if words[1:-1] == ["-a"]:
            if not starts:
                raise LookupError(f"{path.name} appends to {target} before the cell that starts it")
            parts.append(body)
        elif len(words) == 2:
            starts += 1
            parts = [body]
    if starts != 1:
        raise LookupError(f"{path.name} has {starts} cells starting with '%%writefile {target}'; expected exactly one")
    return "".join(parts)


def module_source(notebook: str | Path, name: str) -> str:
    """A module deployed beside a function: written by the notebook, else provided (notebooks/provided/)."""
    try:
        return function_source(notebook, name)
    except LookupError:
        provided = PROVIDED_DIR / f"{name}.py"
        if not provided.exists():
            raise
        return provided.read_text(encoding="utf-8")


def _notebook_path(notebook: str | Path) -> Path:
    path = Path(notebook)
    if not path.is_absolute() and not path.exists():
        path = NOTEBOOKS_DIR / path
    return path


def load_function(notebook: str | Path, name: str, folder: Path, modules: tuple[str, ...] = ()) -> ModuleType:
    """Write the notebook's function to ``folder/NAME.py`` and import it as a fresh module.

    Each call imports anew (module-level code runs again), so set the environment the
    function reads (BUCKET_NAME, ...) before calling this, as Lambda does before the import.
    ``modules``: other files the function imports (``image_checks``), written by the notebook
    or provided, put beside it and imported fresh from ``folder``, as in the deployment package.
    """
    path = folder / f"{name}.py"
    path.write_text(module_source(notebook, name), encoding="utf-8")
    for module in modules:
        (folder / f"{module}.py").write_text(module_source(notebook, module), encoding="utf-8")
        sys.modules.pop(module, None)  # a copy imported from another folder must not be reused
    module_name = f"notebook_function_{name}_{next(_loaded)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the class is created
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    finally:
        sys.path.remove(str(folder))
    return module
