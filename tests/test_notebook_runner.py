"""helpers.notebook_runner's run, its choice of notebooks and kernel, and its command line.

Tiny notebooks are generated in temporary folders; the costly part is a kernel's start
(about a second each).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path

import boto3
import nbformat
import pytest

from helpers import notebook_runner as runner
from helpers.notebook_runner import cli
from localcloud import process
from tests.tiny_notebooks import make_notebook, stdout_of

PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (\S+) \.\.\. (ok \(\d+\.\d s\)|FAILED \(\d+\.\d s\)|prepared)$")


# --- running ---------------------------------------------------------------------------------------

def test_run_injects_parameters_into_copies_and_leaves_sources_untouched(tmp_path: Path, capsys, monkeypatch) -> None:
    books = tmp_path / "notebooks"
    first = make_notebook(books, "00_first", "import os, sys\nprint(target, region, prefix)\n"
                          "print('cwd', os.getcwd())\nprint('prefix', sys.prefix)")
    second = make_notebook(books, "05_api", "print('second sees', prefix, max_labels)")
    make_notebook(books, "07_cleanup", "raise RuntimeError('cleanup is not part of a run')")
    before = {p: p.read_bytes() for p in (first, second)}
    asked = []
    monkeypatch.setattr(cli, "api_url", lambda *args: asked.append(args) or "http://api.example/v1/")

    code = runner.main(["--notebooks", str(books), "--output", str(tmp_path / "out"), "--target", "aws",
                        "--region", "eu-west-1", "--prefix", "alice", "-p", "max_labels", "5"])

    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [PROGRESS.match(line).group(1, 2, 3, 4)[:3] for line in printed[:2]] == [("1", "2", "00_first"),
                                                                                  ("2", "2", "05_api")]
    assert all(PROGRESS.match(line)[4].startswith("ok (") for line in printed[:2])
    assert printed[2].startswith("ran 2 notebook(s) in ")
    # After a run through 05_api, the URL of the prefix's API, looked up on the target.
    assert asked == [("aws", "eu-west-1", "alice")] and printed[3] == "API: http://api.example/v1/"
    out = stdout_of(tmp_path / "out" / "00_first.ipynb")
    assert "aws eu-west-1 alice\n" in out
    # The kernel starts in the notebook's folder and is this environment's Python (.venv).
    assert f"cwd {books.resolve()}\n" in out
    assert f"prefix {sys.prefix}\n" in out
    assert "second sees alice 5" in stdout_of(tmp_path / "out" / "05_api.ipynb")
    executed = nbformat.read(tmp_path / "out" / "00_first.ipynb", as_version=4)
    assert "injected-parameters" in executed.cells[2].metadata["tags"]
    assert {p: p.read_bytes() for p in (first, second)} == before
    assert not (tmp_path / "out" / "07_cleanup.ipynb").exists()


def test_a_failing_cell_stops_the_run_and_is_named(tmp_path: Path) -> None:
    books = tmp_path / "notebooks"
    ok = make_notebook(books, "00_ok", "print('fine')")
    marker = tmp_path / "ran-02"
    bad = make_notebook(books, "01_bad", "x = 1", "\n# a comment first\ny = x + 1\nraise ValueError(f'boom {y}')",
                        "print('never')")
    never = make_notebook(books, "02_never", f"open({str(marker)!r}, 'w').close()")
    progress = io.StringIO()

    with pytest.raises(runner.NotebookFailed) as caught:
        runner.run([ok, bad, never], {"prefix": "alice"}, tmp_path / "out", stream=progress)

    error = caught.value
    # Cell 4 of the source (title, parameters, x = 1, this one); In [4] in the copy, after the injected cell.
    assert (error.notebook, error.cell, error.exec_count) == ("01_bad", 4, 4)
    assert error.first_line == "# a comment first"
    assert (error.ename, error.evalue) == ("ValueError", "boom 2")
    assert error.output_path == tmp_path / "out" / "01_bad.ipynb"
    message = str(error)
    assert "01_bad failed at cell 4 (In [4])" in message and "# a comment first" in message
    assert "ValueError: boom 2" in message
    lines = progress.getvalue().splitlines()
    assert [PROGRESS.match(line).group(4).split(" ")[0] for line in lines] == ["ok", "FAILED"]
    assert not marker.exists() and not (tmp_path / "out" / "02_never.ipynb").exists()
    assert "never" not in stdout_of(error.output_path)


def test_the_command_line_exits_non_zero_naming_notebook_and_cell(tmp_path: Path, capsys) -> None:
    books = tmp_path / "notebooks"
    make_notebook(books, "00_only", "import json\njson.loads('{not json')")
    make_notebook(books, "01_skipped", "print('not selected')")

    code = runner.main(["--notebooks", str(books), "--output", str(tmp_path / "out"), "--only", "00",
                        "--prefix", "bob"])

    captured = capsys.readouterr()
    assert code == 1
    assert re.search(r"^\[1/1\] 00_only \.\.\. FAILED", captured.out, re.M)
    assert "00_only failed at cell 3 (In [3]), which starts with:\n    import json\nJSONDecodeError: " in captured.err
    assert not (tmp_path / "out" / "01_skipped.ipynb").exists()


def test_a_notebook_without_a_parameters_cell_is_refused_before_running(tmp_path: Path) -> None:
    path = make_notebook(tmp_path, "00_plain", "print(1)", parameters=None)
    with pytest.raises(runner.RunnerError, match="no cell tagged 'parameters'"):
        runner.run([path], {}, tmp_path / "out", stream=io.StringIO())
    assert not (tmp_path / "out" / "00_plain.ipynb").exists()


def test_prepare_only_writes_parameterized_copies_with_links_for_relative_paths(tmp_path: Path) -> None:
    books = tmp_path / "notebooks"
    path = make_notebook(books, "00_x", "%%writefile functions/f.py\nprint('hi')")
    (books / "functions").mkdir()
    progress = io.StringIO()

    runner.run([path], {"target": "aws", "prefix": "ci"}, tmp_path / "sandbox", prepare_only=True, stream=progress)

    copy = nbformat.read(tmp_path / "sandbox" / "00_x.ipynb", as_version=4)
    assert 'target = "aws"' in copy.cells[2].source and "injected-parameters" in copy.cells[2].metadata["tags"]
    assert (tmp_path / "sandbox" / "functions").resolve() == (books / "functions").resolve()
    assert progress.getvalue() == "[1/1] 00_x ... prepared\n"


# --- choosing notebooks and the kernel -------------------------------------------------------------

def test_select_by_number_name_or_through_and_default_leaves_cleanup_out(tmp_path: Path) -> None:
    names = ["00_setup", "01_image_uploader", "05_api", "06_end_to_end", "07_cleanup"]
    for name in names:
        make_notebook(tmp_path, name)
    (tmp_path / "scratch.ipynb").write_text("{}")
    available = runner.discover(tmp_path)
    stems = lambda paths: [p.stem for p in paths]  # noqa: E731

    assert stems(available) == names
    assert stems(runner.select(available)) == names[:-1]
    assert stems(runner.select(available, through="05")) == names[:3]
    assert stems(runner.select(available, only=["05", "00_setup"])) == ["00_setup", "05_api"]
    assert stems(runner.select(available, only=["07"])) == ["07_cleanup"]
    with pytest.raises(runner.RunnerError, match="no notebook '09'; the notebooks are: 00_setup, "):
        runner.select(available, only=["09"])
    with pytest.raises(runner.RunnerError, match="either --only or --through"):
        runner.select(available, only=["00"], through="06")


def test_the_python3_kernel_is_this_environments_and_a_foreign_one_is_refused(tmp_path: Path, monkeypatch) -> None:
    assert runner.check_kernel().is_relative_to(Path(sys.prefix))

    foreign = tmp_path / "kernels" / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(json.dumps({
        "argv": ["/opt/elsewhere/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))  # searched before the environment's own kernels
    with pytest.raises(runner.RunnerError, match="runs /opt/elsewhere/bin/python, not this environment's"):
        runner.check_kernel()


# --- the API URL -----------------------------------------------------------------------------------

def test_the_api_url_is_found_on_the_running_local_cloud_without_switching_targets() -> None:
    with runner.fresh_localcloud() as instance:
        def apigateway(region: str):
            return boto3.client("apigateway", region_name=region, endpoint_url=instance.endpoint,
                                **instance.credentials.as_client_kwargs())

        bob = apigateway("us-east-1").create_rest_api(name="bob-image-api")["id"]
        apigateway("eu-west-1").create_rest_api(name="carol-image-api")
        environment = dict(os.environ)

        # The form helpers.api gives the notebooks; the port defaults to LOCALCLOUD_PORT.
        assert runner.api_url("local", "us-east-1", "bob", port=instance.port) == \
            f"{instance.endpoint}/_aws/execute-api/{bob}/v1"
        assert runner.api_url("local", "us-east-1", "bob") == f"{instance.endpoint}/_aws/execute-api/{bob}/v1"
        assert runner.api_url("local", "us-east-1", "carol") is None  # another region's
        assert runner.api_url("local", "us-east-1", "dave") is None
        assert dict(os.environ) == environment
        port = instance.port

    # A stopped local cloud holds no API, and none is started to look.
    assert runner.api_url("local", "us-east-1", "bob", port=port) is None
    assert process.health(port) is None


def test_the_command_line_says_when_no_api_is_deployed_or_the_look_up_failed(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "api_url", lambda *args: None)
    cli._print_api_url("local", "us-east-1", "erin")
    assert capsys.readouterr().out == "(no REST API erin-image-api is deployed on local in us-east-1)\n"

    def duplicated(*args):
        raise RuntimeError("2 REST APIs are named erin-image-api (a, b)")

    monkeypatch.setattr(cli, "api_url", duplicated)
    cli._print_api_url("local", "us-east-1", "erin")
    assert capsys.readouterr().out == \
        "(could not look up the API's URL: RuntimeError: 2 REST APIs are named erin-image-api (a, b))\n"
