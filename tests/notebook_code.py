"""The Lambda code a committed notebook writes, for the handler tests.

The notebooks are the single source of a function's code: each writes it with one
``%%writefile functions/NAME.py`` cell. The handler tests take the code from that cell,
not from ``notebooks/functions/`` (not committed, and possibly edited by a learner), so they
test exactly what the notebook deploys.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
_loaded = itertools.count()


def function_source(notebook: str | Path, name: str) -> str:
    """The text the notebook's ``%%writefile functions/NAME.py`` cell writes (the magic line removed).

    ``notebook`` is a file name in notebooks/ ("01_image_uploader.ipynb") or a path. Exactly
    one cell must write the file: none or several is an error naming the notebook.
    """
    path = Path(notebook)
    if not path.is_absolute() and not path.exists():
        path = NOTEBOOKS_DIR / path
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    magic = f"%%writefile functions/{name}.py"
    found = []
    for cell in cells:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        first, _, body = source.partition("\n")
        if cell["cell_type"] == "code" and first.strip() == magic:
            found.append(body if body.endswith("\n") else body + "\n")  # %%writefile ends the file with a newline
    if len(found) != 1:
        raise LookupError(f"{path.name} has {len(found)} cells starting with {magic!r}; expected exactly one")
    return found[0]


def load_function(notebook: str | Path, name: str, folder: Path, modules: tuple[str, ...] = ()) -> ModuleType:
    """Write the notebook's function to ``folder/NAME.py`` and import it as a fresh module.

    Each call imports anew (module-level code runs again), so set the environment the
    function reads (BUCKET_NAME, ...) before calling this, as Lambda does before the import.
    ``modules``: other files the notebook writes that the function imports (``image_checks``),
    written beside it and imported fresh from ``folder``, as in the deployment package.
    """
    path = folder / f"{name}.py"
    path.write_text(function_source(notebook, name), encoding="utf-8")
    for module in modules:
        (folder / f"{module}.py").write_text(function_source(notebook, module), encoding="utf-8")
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
