"""Builds Pillow as a Lambda layer and publishes it once per content, for this prefix.

A Lambda function sees only its own zip, its layers, the standard library and boto3 (on
AWS, and locally too: the local runtime hides this machine's site-packages). For Pillow, a
function needs a layer: :func:`ensure_pillow` zips Pillow under ``python/`` (the folder
Lambda puts on the import path) and publishes it as the layer ``PREFIX-pillow``, unless a
version with the same zip exists already: each version's Description records the zip's
SHA-256, so a re-run finds it, publishes nothing and returns that version.

What goes into the zip depends on where the function runs:

- ``local``: the local runtime runs functions with this machine's Python, so the Pillow
  installed here is copied (no network: the local target works offline);
- ``aws``: Lambda runs python3.12 on Amazon Linux, x86_64, so pip downloads Pillow's wheel
  for that platform, at the version installed here (the same Pillow as in the notebooks).

Built zips are kept in ``build/layers/`` (git-ignored), one per target kind and Pillow
version, so running a notebook again does not rebuild. Zips are reproducible (fixed
timestamps and permissions, sorted entries, no ``__pycache__``): the same Pillow gives the
same bytes, hence the same SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import workspace
from .lambdas import RUNTIME
from .workbook import Workbook

ARCHITECTURE = "x86_64"
PYTHON_VERSION = RUNTIME.removeprefix("python")  # "3.12"
# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34), where manylinux_2_28 wheels run;
# Pillow 13 publishes only those for x86_64. manylinux2014 is accepted too, for older releases.
PIP_PLATFORMS = (f"manylinux_2_28_{ARCHITECTURE}", f"manylinux2014_{ARCHITECTURE}")
PIP_OUTPUT_LINES = 15  # of pip's output, in the error when it fails

_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_SHARED_LIBRARY = re.compile(r"\.(so|dylib|pyd)(\.|$)")
_RECORDED_SHA = re.compile(r"sha256 ([0-9a-f]{64})")


class LayerBuildError(RuntimeError):
    """The layer's zip could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class Layer:
    name: str
    version_arn: str  # what lambdas.deploy(..., layers=[...]) takes
    version: int
    changed: bool  # False when a version with the same zip was already published
    size: int  # bytes of the zip

    def __repr__(self) -> str:
        what = f"published version {self.version}" if self.changed else f"version {self.version} already published"
        return f"{self.name}: {what} ({self.size / 1e6:.1f} MB zip)"


def pillow_version() -> str:
    """The version of the Pillow installed here, which the layer carries on either target."""
    try:
        return importlib.metadata.version("pillow")
    except importlib.metadata.PackageNotFoundError:
        raise LayerBuildError("Pillow is not installed in this environment: run `make run` (or "
                              "`.venv/bin/pip install -r requirements.txt`) first") from None


def ensure_pillow(wb: Workbook, *, cache_dir: Path | None = None) -> Layer:
    """Build (once) and publish (once per content) the layer holding Pillow for this prefix."""
    version = pillow_version()
    kind = "local" if wb.is_local else "aws"
    zipped = build_pillow(kind, cache_dir=cache_dir).read_bytes()
    if kind == "local":
        what = f"Pillow {version} copied from this machine's python{sys.version_info[0]}.{sys.version_info[1]} " \
               f"{platform.machine()}"
    else:
        what = f"Pillow {version} for {RUNTIME} {ARCHITECTURE}"
    license_info = importlib.metadata.metadata("pillow").get("License-Expression") or ""
    return publish(wb, "pillow", zipped, what, license_info=license_info)


def publish(wb: Workbook, key: str, zipped: bytes, what: str, *, license_info: str = "") -> Layer:
    """Publish ``zipped`` as a version of the layer ``key``, unless a version holds the same zip."""
    lam = wb.client("lambda")
    name = wb.names.layer(key)
    sha = hashlib.sha256(zipped).hexdigest()
    for version in published_versions(wb, name):
        recorded = _RECORDED_SHA.search(version.get("Description", ""))
        if recorded and recorded[1] == sha:
            return Layer(name, version["LayerVersionArn"], int(version["Version"]), False, len(zipped))
    # Layer versions cannot be tagged (the Lambda API has no tags for layers): the name carries
    # the prefix, and cleanup finds them by that name.
    extra = {"LicenseInfo": license_info} if 0 < len(license_info) <= 512 else {}
    created = lam.publish_layer_version(
        LayerName=name, Description=f"workbook: {what}, sha256 {sha}", Content={"ZipFile": zipped},
        CompatibleRuntimes=[RUNTIME], CompatibleArchitectures=[ARCHITECTURE], **extra)
    return Layer(name, created["LayerVersionArn"], int(created["Version"]), True, len(zipped))


def published_versions(wb: Workbook, name: str) -> list[dict]:
    """Every version of the layer ``name`` (ListLayerVersions items), newest first; [] if none."""
    versions: list[dict] = []
    for page in wb.client("lambda").get_paginator("list_layer_versions").paginate(LayerName=name):
        versions += page.get("LayerVersions", [])
    return sorted(versions, key=lambda v: int(v["Version"]), reverse=True)


# --- building -----------------------------------------------------------------------------

def build_pillow(kind: str, *, cache_dir: Path | None = None) -> Path:
    """The layer zip for ``kind`` ("local" or "aws"), built the first time and then read from ``cache_dir``
    (by default the checkout's ``build/layers/``)."""
    cache_dir = cache_dir or workspace.BUILD_DIR / "layers"
    version = pillow_version()
    if kind == "local":
        # This machine's build of Pillow: a venv on another Python needs its own.
        path = cache_dir / f"pillow-{version}-local-{sys.implementation.cache_tag}-{platform.machine()}.zip"
    elif kind == "aws":
        path = cache_dir / f"pillow-{version}-aws-{RUNTIME}-{ARCHITECTURE}.zip"
    else:
        raise ValueError(f"unknown target kind {kind!r}: 'local' or 'aws'")
    if path.exists():
        return path
    if kind == "local":
        root, folders = installed_pillow()
        zipped = zip_layer(root, folders)
    else:
        with tempfile.TemporaryDirectory(prefix="pillow-layer-") as tmp:
            target = Path(tmp)
            _pip_install(target, version)
            zipped = zip_layer(target, sorted(p.name for p in target.iterdir()))
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # never a half-written zip in the cache
    partial.write_bytes(zipped)
    os.replace(partial, path)
    return path


def installed_pillow() -> tuple[Path, list[str]]:
    """The site-packages folder holding this environment's Pillow, and Pillow's folders in it.

    ``PIL``, the shared libraries a wheel bundles beside it (``pillow.libs``; macOS wheels
    keep theirs in ``PIL/.dylibs``) and the ``.dist-info`` (so the function can ask
    importlib.metadata for the version, as with a pip-installed layer).
    """
    version = pillow_version()
    spec = importlib.util.find_spec("PIL")
    if spec is None or spec.origin is None:
        raise LayerBuildError(f"Pillow {version} is installed but its PIL package cannot be found")
    package = Path(spec.origin).parent
    root = package.parent
    wanted = {"pillow.libs", f"pillow-{version}.dist-info"}
    folders = [package.name] + sorted(p.name for p in root.iterdir() if p.name.lower() in wanted and p.is_dir())
    return root, folders


def pip_command(target: Path, version: str) -> list[str]:
    """pip, asked for Pillow ``version`` as a wheel for Lambda's Python and platform, into ``target``."""
    platforms = [arg for name in PIP_PLATFORMS for arg in ("--platform", name)]
    return [sys.executable, "-m", "pip", "install", "--target", str(target), *platforms,
            "--python-version", PYTHON_VERSION, "--implementation", "cp", "--only-binary=:all:",
            "--no-deps", "--no-compile", "--disable-pip-version-check", "--no-input", f"pillow=={version}"]


def _pip_install(target: Path, version: str) -> None:
    command = pip_command(target, version)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-PIP_OUTPUT_LINES:])
        raise LayerBuildError(
            f"pip could not get Pillow {version} for {RUNTIME} on {ARCHITECTURE} (exit code {done.returncode}); "
            f"building the layer for AWS downloads it, so this machine must reach PyPI. pip said:\n{output}")
    if not (target / "PIL").is_dir():
        raise LayerBuildError(f"pip succeeded but left no PIL folder in {target}")


def zip_layer(root: Path, folders: Sequence[str]) -> bytes:
    """``folders`` of ``root`` zipped under ``python/``, reproducibly, without __pycache__."""
    files = sorted(_files(root, folders))
    if not files:
        raise LayerBuildError(f"nothing to put in the layer: {', '.join(folders) or 'no folders'} in {root}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(f"python/{name}", date_time=_ZIP_TIME)
            info.create_system = 3  # Unix, so external_attr holds the mode on every machine
            info.external_attr = (0o755 if _SHARED_LIBRARY.search(path.name) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _files(root: Path, folders: Sequence[str]) -> Iterator[tuple[str, Path]]:
    for folder in folders:
        for directory, subdirs, names in os.walk(root / folder):
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
            for name in names:
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = Path(directory) / name
                yield path.relative_to(root).as_posix(), path
