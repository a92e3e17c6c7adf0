"""helpers.notebook_runner's maintainers' side: the committed form, refresh, nbval and its sanitize file.

The pure parts (normalizing, checking paths, sanitizing) are tested without a kernel; the
committed notebooks themselves are held to the committed form.
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import notebook_runner as runner
from helpers import workspace
from localcloud import process
from tests.tiny_notebooks import PARAMETERS, committed, make_notebook

# --- the committed form ----------------------------------------------------------------------------

def executed_notebook() -> nbformat.NotebookNode:
    """What papermill writes: its metadata everywhere, an injected cell, split streams."""
    params = new_code_cell(PARAMETERS, metadata={"tags": ["parameters"], "papermill": {"status": "completed"}},
                           execution_count=1)
    injected = new_code_cell('prefix = "x"', metadata={"tags": ["injected-parameters"]}, execution_count=2)
    writefile = new_code_cell("%%writefile functions/f.py\nx = 1", execution_count=3, metadata={
        "execution": {"iopub.status.busy": "2026-11-22T02:11:39.393695Z"}, "tags": []},
        outputs=[new_output("stream", name="stdout", text="Overwriting functions/f.py\n")])
    printing = new_code_cell("print(url)", execution_count=4, metadata={"ExecuteTime": {"end": "x"}, "tags": ["keep"]},
                             outputs=[new_output("stream", name="stdout", text="url http://127.0.0.1:41234/x\n"),
                                      new_output("stream", name="stdout", text="second part\n"),
                                      new_output("stream", name="stderr", text="warned\n"),
                                      new_output("execute_result", data={"text/plain": "'127.0.0.1:41234'"},
                                                 execution_count=4)])
    return new_notebook(cells=[new_markdown_cell("# t"), params, injected, writefile, printing], metadata={
        "papermill": {"duration": 4.2, "input_path": "/work/main/notebooks/00.ipynb"},
        "kernelspec": {"name": "venv-kernel", "display_name": "Python (.venv)", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"},
    })


def test_normalize_strips_run_metadata_and_keeps_outputs() -> None:
    raw = executed_notebook()
    nb = runner.normalize(raw, {"127.0.0.1:41234": "127.0.0.1:4566"})

    assert "papermill" not in nb.metadata
    assert nb.metadata.kernelspec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert nb.metadata.language_info == {"name": "python", "pygments_lexer": "ipython3"}
    assert [c.source.splitlines()[0] for c in nb.cells] == ["# t", 'target = "local"', "%%writefile functions/f.py",
                                                            "print(url)"]
    assert nb.cells[1].metadata == {"tags": ["parameters"]}
    assert nb.cells[2].metadata == {} and nb.cells[3].metadata == {"tags": ["keep"]}
    assert nb.cells[2].outputs[0].text == "Writing functions/f.py\n"
    outputs = nb.cells[3].outputs
    assert [(o.output_type, o.get("name")) for o in outputs] == [("stream", "stdout"), ("stream", "stderr"),
                                                                 ("execute_result", None)]
    assert outputs[0].text == "url http://127.0.0.1:4566/x\nsecond part\n"
    assert outputs[2].data["text/plain"] == "'127.0.0.1:4566'"
    assert nb.cells[3].execution_count == 4
    nbformat.validate(nb)
    assert raw.metadata.papermill["duration"] == 4.2  # the input is not modified


def test_machine_paths_in_outputs_are_reported_by_notebook_and_cell() -> None:
    repo = workspace.REPO_ROOT
    nb = new_notebook(cells=[
        new_code_cell("a", outputs=[new_output("stream", name="stdout", text="saved to /tmp/xyz/cat.png\n")]),
        new_code_cell("b", outputs=[new_output("display_data", data={"text/plain": f"{repo}/notebooks"})]),
        new_code_cell("c", outputs=[new_output("error", ename="E", evalue="v",
                                               traceback=[f"File {repo}/helpers/x.py, line 1"])]),
        new_code_cell("d", outputs=[new_output("stream", name="stdout", text="images/abc.png in notebooks/\n")]),
    ])
    problems = runner.check_machine_paths(nb, "03_x.ipynb")
    assert [p.split(":")[0] for p in problems] == ["03_x.ipynb cell 1", "03_x.ipynb cell 2", "03_x.ipynb cell 3"]
    assert "'/tmp/'" in problems[0] and repr(str(repo)) in problems[1]


# --- refresh ---------------------------------------------------------------------------------------

def test_refresh_runs_against_a_fresh_local_cloud_and_rewrites_in_place(tmp_path: Path, monkeypatch) -> None:
    books = tmp_path / "notebooks"
    path = make_notebook(
        books, "00_probe",
        "import os, urllib.request\nport = os.environ['LOCALCLOUD_PORT']\n"
        "url = f'http://127.0.0.1:{port}'\nurllib.request.urlopen(url + '/_localcloud/health').status",
        "print('endpoint', url)\nprint('fresh', port != '4566')",
    )
    # One variable set and one unset before: the fresh local cloud's block restores both ways.
    monkeypatch.setenv("LOCALCLOUD_PORT", "4999")
    monkeypatch.delenv("LOCALCLOUD_HOME", raising=False)
    progress = io.StringIO()

    written = runner.refresh([path], work_dir=tmp_path / "work", stream=progress)

    assert written == [path.resolve()]
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[2].outputs[0].data["text/plain"] == "200"
    assert nb.cells[3].outputs[0].text == "endpoint http://127.0.0.1:4566\nfresh True\n"
    assert "papermill" not in nb.metadata and all("papermill" not in c.metadata for c in nb.cells)
    assert nb.metadata.kernelspec.name == "python3"
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3]
    port = int(re.search(r"127\.0\.0\.1:(\d+)", progress.getvalue())[1])
    assert port != 4566 and process.health(port) is None  # its own local cloud, stopped again
    assert os.environ["LOCALCLOUD_PORT"] == "4999" and "LOCALCLOUD_HOME" not in os.environ


def test_refresh_refuses_machine_paths_and_writes_nothing(tmp_path: Path) -> None:
    books = tmp_path / "notebooks"
    clean = make_notebook(books, "00_clean", "print('fine')")
    leaky = make_notebook(books, "01_leaky", "import os\nprint(os.getcwd())")
    before = {p: p.read_bytes() for p in (clean, leaky)}

    with pytest.raises(runner.MachinePathError, match=r"01_leaky.ipynb cell 3: output contains '/tmp/'"):
        runner.refresh([clean, leaky], work_dir=tmp_path / "work", localcloud=False, stream=io.StringIO())

    assert {p: p.read_bytes() for p in (clean, leaky)} == before


# --- nbval and its sanitize file -------------------------------------------------------------------

def test_nbval_compares_sanitized_outputs_strictly(tmp_path: Path) -> None:
    varying = ("import uuid, datetime\nprint('request', uuid.uuid4())\n"
               "print('at', datetime.datetime.now(datetime.timezone.utc).isoformat())\n"
               "print('endpoint http://127.0.0.1:51515/_aws/execute-api/a1b2c3d4e5/v1/')",
               "request 0b7e4e8a-9f0e-4a59-8e7e-3c1f2a0d9b11\nat 2026-11-22T02:11:39.394019+00:00\n"
               "endpoint http://127.0.0.1:4566/_aws/execute-api/zzzzzzzzzz/v1/\n")
    changed = ("print('labels', ['Cat'])", "labels ['Dog']\n")
    path = committed(tmp_path / "notebooks", "00_checked", varying, changed)
    report = tmp_path / "report.xml"

    code = runner.nbval([path], ["-q", f"--junitxml={report}"], localcloud=False)

    assert code == 1
    # nbval's items, in order: the parameters cell, the varying one, the changed one.
    cases = [(case.get("name"), any(child.tag == "failure" for child in case))
             for case in ET.parse(report).iter("testcase")]
    assert cases == [("Cell 0", False), ("Cell 1", False), ("Cell 2", True)]


def sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns(runner.SANITIZE_FILE.read_text()):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(("first", "second"), [
    ("http://127.0.0.1:4566/_aws/execute-api/a1b2c3d4e5/v1/images",
     "http://127.0.0.1:39211/_aws/execute-api/zx9y8w7v6u/v1/images"),
    ("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/",
     "https://q9w8e7r6t5.execute-api.eu-west-1.amazonaws.com/v1/"),
    ("RequestId: 0b7e4e8a-9f0e-4a59-8e7e-3c1f2a0d9b11", "RequestId: 5d0c8a3e-1b2f-4c4d-9e8f-7a6b5c4d3e2f"),
    ("{'RequestId': 'JZ2X7Q9A1B3C5D7E', 'HTTPStatusCode': 200}",
     "{'RequestId': 'Q1W2E3R4T5Y6', 'HTTPStatusCode': 200}"),
    ("created 2026-11-22T02:11:39.394019Z", "created 2027-01-02T13:14:15Z"),
    ("LastModified 2026-11-22T02:11:39.394+0000", "LastModified 2026-12-01T00:00:00.000+0000"),
    ("at 2026-11-22 02:11:39+00:00", "at 2026-11-23 12:00:01.5+00:00"),
    ("datetime.datetime(2026, 11, 22, 2, 11, 39, 394019, tzinfo=tzlocal())",
     "datetime.datetime(2027, 1, 2, 3, 4, 5, tzinfo=tzlocal())"),
    ("REPORT Duration: 3.21 ms Billed Duration: 4 ms Max Memory Used: 45 MB",
     "REPORT Duration: 12.9 ms Billed Duration: 13 ms Max Memory Used: 51 MB"),
    ("✓ the pipeline ran in 4.2 s", "✓ the pipeline ran in 11.0 s"),
    ("arn:aws:states:us-east-1:123456789012:execution:workbook-image-pipeline:1f0e2d3c-aaaa-bbbb-cccc-123456789abc",
     "arn:aws:states:us-east-1:123456789012:execution:workbook-image-pipeline:manual-run-7"),
    ("/aws/lambda/x 2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef",
     "/aws/lambda/x 2026/11/23/[$LATEST]fedcba9876543210fedcba9876543210"),
    ("Overwriting functions/image_uploader.py", "Writing functions/image_uploader.py"),
    ("saved /tmp/tmpab12cd/cat.png", "saved /tmp/tmpzz99yy/cat.png"),
    ("<helpers.workbook.Workbook object at 0x7f3a2b1c0d90>", "<helpers.workbook.Workbook object at 0x7f00aa11bb22>"),
    ('<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUg+/=" alt="cat">',
     '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgZZ9=" alt="cat">'),
    ("{'key': 'uploads/0123456789abcdef0123456789abcdef'}", "{'key': 'uploads/fedcba9876543210fedcba9876543210'}"),
])
def test_sanitize_rules_equate_values_that_legitimately_vary(first: str, second: str) -> None:
    assert first != second and sanitize(first) == sanitize(second)


@pytest.mark.parametrize(("first", "second"), [
    # an image's id is the SHA-256 of its bytes: it must match exactly
    ("id " + "a" * 64, "id " + "b" * 64),
    ("workbook-images-123456789012-us-east-1", "alice-images-123456789012-us-east-1"),
    ("status SUCCEEDED", "status FAILED"),
    ("labels: Cat (98.1)", "labels: Dog (98.1)"),
    ("size 12345 bytes (1.2 MB)", "size 12346 bytes (1.3 MB)"),
    ("HTTP 202", "HTTP 400"),
    ("images/" + "c" * 64 + ".png", "images/" + "c" * 64 + ".jpg"),
    ("staging/" + "d" * 64, "staging/" + "e" * 64),  # only upload keys are random, not staged ids
    ("timeout 30 s, memory 128 MB", "timeout 30 s, memory 256 MB"),
])
def test_sanitize_rules_keep_what_the_notebooks_teach(first: str, second: str) -> None:
    assert sanitize(first) != sanitize(second)


# --- the committed notebooks -----------------------------------------------------------------------

LOCAL_ACCOUNT = "123456789012"
SECRET = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|aws_secret_access_key|AWS_SECRET_ACCESS_KEY=(?!testing)")


@pytest.mark.parametrize("path", runner.discover(), ids=lambda p: p.stem)
def test_committed_notebook_is_a_clean_local_run_as_make_notebooks_leaves_it(path: Path) -> None:
    """nbval compares only cells that ran: a notebook committed without outputs would pass unchecked."""
    nb = nbformat.read(path, as_version=4)
    fix = "run `make notebooks` and commit the result"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"not one clean top-to-bottom run (In [] {counts}); {fix}"
    errors = [c.source.splitlines()[0] for c in code if any(o.output_type == "error" for o in c.outputs)
              and "raises-exception" not in c.metadata.get("tags", [])]
    assert errors == [], "cells committed with an error"
    assert nbformat.writes(runner.normalize(nb)) == nbformat.writes(nb), f"execution metadata left in; {fix}"
    assert runner.check_machine_paths(nb, path.name) == []
    texts = [t for c in code for o in c.outputs for t in runner.output_texts(o)]
    accounts = {m for t in texts for m in re.findall(r"(?<!\d)\d{12}(?!\d)", t)} - {LOCAL_ACCOUNT}
    assert accounts == set(), "outputs name an account id other than the local cloud's"
    assert not [t for t in texts if SECRET.search(t)], "outputs hold credentials"
