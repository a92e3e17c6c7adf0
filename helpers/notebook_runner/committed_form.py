"""The form a notebook is committed in: no trace of how its run went, no path of this machine.

:func:`normalize` turns an executed notebook into that form; :func:`check_machine_paths`
finds outputs that would only make sense on the machine that ran it. ``make notebooks``
applies both before writing, and the tests hold every committed notebook to them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nbformat

from helpers import workspace

from .running import KERNEL_NAME

# The kernelspec committed notebooks carry: ipykernel's own, so saving in JupyterLab changes nothing.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
# Cell metadata that records how a run went rather than what the author wrote.
_RUN_METADATA = ("papermill", "execution", "ExecuteTime")
_GENERATED_CELL_TAGS = ("injected-parameters", "papermill-error-cell-tag")


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
    repo = workspace.REPO_ROOT
    found = {str(repo), os.path.realpath(repo), "/tmp/", "/var/folders/", "/private/var/"}
    found.add(tempfile.gettempdir().rstrip("/") + "/")
    home = str(Path.home()).rstrip("/")
    if home:  # not when the home folder is /
        found.add(home + "/")
    return sorted(found, key=len, reverse=True)


def output_texts(output: Any) -> Iterator[str]:
    """The text an output shows a reader: streams, non-image data, an error's message and traceback."""
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
            for text in output_texts(output):
                for fragment in forbidden:
                    at = text.find(fragment)
                    if at >= 0:
                        snippet = text[max(0, at - 30): at + len(fragment) + 30].replace("\n", " ")
                        problems.append(f"{name} cell {position}: output contains {fragment!r}: ...{snippet}...")
                        break
    return problems
