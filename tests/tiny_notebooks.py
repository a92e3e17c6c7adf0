"""Tiny notebooks written into temporary folders, for the notebook runner's tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

PARAMETERS = 'target = "local"\nregion = "us-east-1"\nprefix = "workbook"'


def make_notebook(folder: Path, name: str, *cells: str, parameters: str | None = PARAMETERS) -> Path:
    """A notebook: a title, the tagged parameters cell, then one code cell per source."""
    body = [new_markdown_cell(f"# {name}")]
    if parameters is not None:
        body.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    body += [new_code_cell(source) for source in cells]
    nb = new_notebook(cells=body, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    path = folder / f"{name}.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def stdout_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def committed(folder: Path, name: str, *cells: tuple[str, str]) -> Path:
    """A notebook as if refreshed: each (source, text) code cell carries ``text`` as committed output."""
    path = make_notebook(folder, name, *(source for source, _ in cells))
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].execution_count = 1
    for count, (cell, (_, text)) in enumerate(zip(nb.cells[2:], cells, strict=True), 2):
        cell.execution_count = count
        cell.outputs = [new_output("stream", name="stdout", text=text)]
    nbformat.write(nb, path)
    return path
