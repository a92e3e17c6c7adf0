"""The Pillow layer: built reproducibly for each target, published once per content, used, cleaned up."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import cleanup, lambdas, layers, workbook
from helpers.names import Names

PILLOW = importlib.metadata.version("pillow")
HOST_PIL = Path(layers.installed_pillow()[0]) / "PIL"

USES_PILLOW = '''\
import io
import sys


def handler(event, context):
    import PIL
    from PIL import Image

    image = Image.new("RGB", (320, 200), "orange").resize((160, 100))  # downscaled in C, by _imaging
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG")
    return {"version": PIL.__version__, "file": PIL.__file__, "size": list(image.size),
            "jpeg_magic": jpeg.getvalue()[:2].hex(), "sys_path": sys.path}
'''

TRIES_PILLOW = '''\
def handler(event, context):
    try:
        import PIL
    except ImportError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    return {"file": PIL.__file__}
'''


def _start(localcloud: str, prefix: str) -> workbook.Workbook:
    return workbook.start("local", "us-east-1", prefix, port=int(localcloud.rsplit(":", 1)[1]))


def _tiny_zip(text: str) -> bytes:
    """A small layer, the same bytes for the same text."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("python/marker.py", date_time=(2020, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One build of the local zip for the whole module, outside the repository's build/."""
    return tmp_path_factory.mktemp("layer-cache")


@pytest.fixture(scope="module")
def wb(localcloud):
    wb = _start(localcloud, "layers-test")
    yield wb
    cleanup.delete_everything(wb)


@pytest.fixture(scope="module")
def published(wb, cache) -> layers.Layer:
    return layers.ensure_pillow(wb, cache_dir=cache)


# --- names and the zip --------------------------------------------------------------------

def test_layer_name_derives_from_the_prefix():
    names = Names(prefix="alice", account_id="123456789012", region="eu-west-1")
    assert names.layer("pillow") == "alice-pillow"
    with pytest.raises(KeyError, match="the workbook's layers are pillow"):
        names.layer("numpy")


def test_local_zip_is_the_installed_pillow_under_python_reproducibly(cache):
    path = layers.build_pillow("local", cache_dir=cache)
    assert path.parent == cache and f"pillow-{PILLOW}-local-" in path.name
    zipped = path.read_bytes()
    assert zipped == layers.zip_layer(*layers.installed_pillow())  # same Pillow, same bytes
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names) and all(name.startswith("python/") for name in names)
        assert archive.read("python/PIL/__init__.py") == (HOST_PIL / "__init__.py").read_bytes()
        assert any(name.startswith("python/PIL/_imaging.") for name in names)  # the C extension
        libs = HOST_PIL.parent / "pillow.libs"
        if libs.is_dir():
            assert {f"python/pillow.libs/{p.name}" for p in libs.iterdir()} <= set(names)
        assert f"python/pillow-{PILLOW}.dist-info/METADATA" in names
        assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
        assert {info.date_time for info in infos} == {(2020, 1, 1, 0, 0, 0)}
        modes = {info.filename: info.external_attr >> 16 for info in infos}
        assert modes["python/PIL/__init__.py"] == 0o644
        assert {mode for name, mode in modes.items() if name.split("/")[-1].startswith("_imaging.cpython")} == {0o755}


def test_zip_layer_skips_caches_and_fixes_timestamps_and_modes(tmp_path):
    for name, body in {"PIL/__init__.py": "x", "PIL/__pycache__/__init__.cpython-311.pyc": "c", "PIL/stale.pyc": "c",
                       "PIL/_imaging.cpython-312-x86_64-linux-gnu.so": "elf", "pillow.libs/libz-1a2b.so.1.3": "elf",
                       "other/ignored.py": "not asked for"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    (tmp_path / "PIL" / "__init__.py").chmod(0o600)
    zipped = layers.zip_layer(tmp_path, ["pillow.libs", "PIL"])
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert {info.filename: info.external_attr >> 16 for info in archive.infolist()} == {
            "python/PIL/__init__.py": 0o644, "python/PIL/_imaging.cpython-312-x86_64-linux-gnu.so": 0o755,
            "python/pillow.libs/libz-1a2b.so.1.3": 0o755}
    with pytest.raises(layers.LayerBuildError, match="nothing to put in the layer"):
        layers.zip_layer(tmp_path, ["missing"])


def test_a_cached_zip_is_not_rebuilt(cache, monkeypatch):
    built = layers.build_pillow("local", cache_dir=cache)

    def must_not_run(*args, **kwargs):
        raise AssertionError("rebuilt although the zip is cached")

    monkeypatch.setattr(layers, "zip_layer", must_not_run)
    assert layers.build_pillow("local", cache_dir=cache) == built
    with pytest.raises(ValueError, match="unknown target kind 'azure'"):
        layers.build_pillow("azure", cache_dir=cache)


class FakePip:
    """Stands in for subprocess.run: records the command, installs what a Pillow wheel holds."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.commands: list[list[str]] = []
        self.returncode, self.stderr = returncode, stderr

    def __call__(self, command, **kwargs):
        self.commands.append(command)
        if self.returncode == 0:
            target = Path(command[command.index("--target") + 1])
            for name in ("PIL/__init__.py", "PIL/_imaging.cpython-312-x86_64-linux-gnu.so",
                         "PIL/__pycache__/__init__.cpython-311.pyc", "pillow.libs/libjpeg-1a2b.so.62",
                         f"pillow-{PILLOW}.dist-info/METADATA"):
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_text(name)
        return subprocess.CompletedProcess(command, self.returncode, "", self.stderr)


def test_aws_zip_is_pip_wheel_for_lambdas_python_and_platform(tmp_path, monkeypatch):
    pip = FakePip()
    monkeypatch.setattr(layers.subprocess, "run", pip)
    path = layers.build_pillow("aws", cache_dir=tmp_path)
    assert path.name == f"pillow-{PILLOW}-aws-python3.12-x86_64.zip"
    (command,) = pip.commands
    target = command[command.index("--target") + 1]
    assert command == [
        sys.executable, "-m", "pip", "install", "--target", target,
        "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
        "--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:",
        "--no-deps", "--no-compile", "--disable-pip-version-check", "--no-input", f"pillow=={PILLOW}"]
    assert not Path(target).exists()  # a temporary folder, removed once zipped
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [
            "python/PIL/__init__.py", "python/PIL/_imaging.cpython-312-x86_64-linux-gnu.so",
            f"python/pillow-{PILLOW}.dist-info/METADATA", "python/pillow.libs/libjpeg-1a2b.so.62"]
    assert layers.build_pillow("aws", cache_dir=tmp_path) == path and len(pip.commands) == 1  # cached


def test_pip_failure_says_what_pip_said_and_caches_nothing(tmp_path, monkeypatch):
    said = f"ERROR: No matching distribution found for pillow=={PILLOW}"
    monkeypatch.setattr(layers.subprocess, "run", FakePip(1, said))
    with pytest.raises(layers.LayerBuildError, match=f"(?s)must reach PyPI.*pip said:\n{said}$"):
        layers.build_pillow("aws", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- on the local cloud -------------------------------------------------------------------

def test_ensure_pillow_publishes_once_then_reuses_the_version(wb, cache, published):
    assert published.changed and published.name == "layers-test-pillow"
    assert published.version_arn == \
        f"arn:aws:lambda:us-east-1:123456789012:layer:layers-test-pillow:{published.version}"
    zipped = layers.build_pillow("local", cache_dir=cache).read_bytes()
    assert published.size == len(zipped)
    before = layers.published_versions(wb, published.name)
    again = layers.ensure_pillow(wb, cache_dir=cache)
    assert not again.changed
    assert (again.version_arn, again.version, again.size) == (published.version_arn, published.version, published.size)
    assert layers.published_versions(wb, published.name) == before  # nothing published
    (version,) = [v for v in before if v["Version"] == published.version]
    assert version["Description"].startswith(f"workbook: Pillow {PILLOW} copied from this machine's python3.")
    assert version["Description"].endswith(f", sha256 {hashlib.sha256(zipped).hexdigest()}")
    assert version["CompatibleRuntimes"] == ["python3.12"] and version["CompatibleArchitectures"] == ["x86_64"]
    assert repr(again) == \
        f"layers-test-pillow: version {published.version} already published ({len(zipped) / 1e6:.1f} MB zip)"


def test_a_version_with_the_same_zip_is_reused_even_when_not_the_newest(localcloud, cache):
    wb = _start(localcloud, "layers-reuse")
    try:
        first = layers.ensure_pillow(wb, cache_dir=cache)
        assert first.changed and repr(first) == f"layers-reuse-pillow: published version {first.version} " \
                                                f"({first.size / 1e6:.1f} MB zip)"
        other = layers.publish(wb, "pillow", _tiny_zip("X = 1\n"), "a test layer")
        assert other.changed and other.version == first.version + 1
        assert layers.publish(wb, "pillow", _tiny_zip("X = 1\n"), "a test layer") == other.__class__(
            other.name, other.version_arn, other.version, False, other.size)
        assert layers.ensure_pillow(wb, cache_dir=cache) == layers.Layer(
            first.name, first.version_arn, first.version, False, first.size)
    finally:
        cleanup.delete_everything(wb)


def test_a_function_with_the_layer_runs_pillow_from_it(wb, published, tmp_path):
    source = tmp_path / "label_detector.py"
    source.write_text(USES_PILLOW)
    lambdas.deploy(wb, "label_detector", source=source, layers=[published.version_arn])
    result = lambdas.invoke(wb, "label_detector", {})
    assert result["version"] == PILLOW and result["size"] == [160, 100] and result["jpeg_magic"] == "ffd8"
    pil = Path(result["file"])
    assert pil.parts[-3:] == ("python", "PIL", "__init__.py") and "opt" in pil.parts  # /opt/python on AWS
    assert not pil.is_relative_to(HOST_PIL.parent)
    assert str(pil.parents[1]) in result["sys_path"]  # the layer's python/ folder, on the import path


def test_a_function_without_the_layer_cannot_import_pillow(wb, tmp_path):
    source = tmp_path / "result_store.py"
    source.write_text(TRIES_PILLOW)
    lambdas.deploy(wb, "result_store", source=source)
    assert lambdas.invoke(wb, "result_store", {}) == {"error": "ModuleNotFoundError",
                                                       "message": "No module named 'PIL'"}


def test_deploy_compares_layers_same_is_a_no_op_new_version_updates(wb, published, tmp_path):
    source = tmp_path / "label_detector.py"
    source.write_text(USES_PILLOW)
    lam = wb.client("lambda")
    name = wb.names.function("label_detector")
    lambdas.deploy(wb, "label_detector", source=source, layers=[published.version_arn])
    assert not lambdas.deploy(wb, "label_detector", source=source, layers=[published.version_arn]).changed

    newer = layers.publish(wb, "pillow", _tiny_zip("X = 2\n"), "a test layer")
    try:
        assert lambdas.deploy(wb, "label_detector", source=source,
                              layers=[published.version_arn, newer.version_arn]).changed
        assert [layer["Arn"] for layer in lam.get_function(FunctionName=name)["Configuration"]["Layers"]] == [
            published.version_arn, newer.version_arn]
        assert lambdas.invoke(wb, "label_detector", {})["version"] == PILLOW
        assert not lambdas.deploy(wb, "label_detector", source=source,
                                  layers=[published.version_arn, newer.version_arn]).changed
        assert lambdas.deploy(wb, "label_detector", source=source,
                              layers=[newer.version_arn, published.version_arn]).changed  # the order matters

        source.write_text(TRIES_PILLOW)
        assert lambdas.deploy(wb, "label_detector", source=source).changed  # no layers: removed
        assert lam.get_function(FunctionName=name)["Configuration"].get("Layers", []) == []
        assert lambdas.invoke(wb, "label_detector", {})["error"] == "ModuleNotFoundError"
    finally:
        lam.delete_layer_version(LayerName=newer.name, VersionNumber=newer.version)


def test_cleanup_deletes_every_version_of_the_layer(localcloud, cache):
    wb = _start(localcloud, "layers-clean")
    first = layers.ensure_pillow(wb, cache_dir=cache)
    layers.publish(wb, "pillow", _tiny_zip("X = 3\n"), "a test layer")
    assert cleanup.leftovers(wb) == ["Lambda layer layers-clean-pillow"]

    report = cleanup.delete_everything(wb)
    assert report.ok and report.deleted == [cleanup.Step("Lambda layer", "layers-clean-pillow", "2 versions")]
    assert repr(report) == "✓ deleted Lambda layer layers-clean-pillow (2 versions)"
    assert layers.published_versions(wb, "layers-clean-pillow") == []
    assert cleanup.leftovers(wb) == []
    assert cleanup.delete_everything(wb).deleted == []

    again = layers.ensure_pillow(wb, cache_dir=cache)  # after a cleanup, the layer comes back
    assert again.changed and again.version > first.version
    assert [str(step) for step in cleanup.delete_everything(wb).deleted] == [
        "Lambda layer layers-clean-pillow (1 version)"]
