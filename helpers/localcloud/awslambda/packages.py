"""Unpacks deployment packages and layers where execution environments can import them.

Content-addressed folders under the instance's state folder: a package is unpacked once
per distinct zip, however many environments or functions use it. The runtime folder
holds only what Lambda's Python runtime ships besides the standard library (boto3 and
its dependencies), linked from this interpreter's site-packages, so a handler cannot
import the workbook's own packages (Pillow, requests) unless its zip or a layer has them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import shutil
import sys
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

# What Lambda's Python runtimes provide on top of the standard library.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")

_lock = threading.Lock()


class InvalidPackage(ValueError):
    """The deployment package or a layer is not a readable zip."""


def _unpack(zip_bytes: bytes, target: Path) -> None:
    """Unpack into ``target`` atomically: a half-written folder is never used."""
    if target.exists():
        return
    staging = target.with_name(target.name + f".tmp{os.getpid()}.{threading.get_ident()}")
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            archive.extractall(staging)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidPackage(f"Could not unzip uploaded file: {exc}") from exc
    staging.mkdir(parents=True, exist_ok=True)  # an empty zip still makes a folder
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another thread won the race


def task_root(cache: Path, zip_bytes: bytes) -> Path:
    """The folder holding this package's files (LAMBDA_TASK_ROOT)."""
    target = cache / "code" / hashlib.sha256(zip_bytes).hexdigest()
    with _lock:
        _unpack(zip_bytes, target)
    return target


def opt_dir(cache: Path, layers: Sequence[tuple[str, bytes]]) -> Path | None:
    """One folder with the layers unpacked in order, as Lambda merges them into /opt."""
    if not layers:
        return None
    # By content, not by ARN alone: this folder outlives the local cloud's in-memory state, and
    # after a restart the same ARN (``name:1`` again) can hold other bytes.
    key = hashlib.sha256("\n".join(f"{arn} {hashlib.sha256(zip_bytes).hexdigest()}"
                                   for arn, zip_bytes in layers).encode()).hexdigest()
    target = cache / "opt" / key
    with _lock:
        if not target.exists():
            staging = target.with_name(target.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            for arn, zip_bytes in layers:
                try:
                    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                        archive.extractall(staging)  # later layers overwrite earlier ones
                except zipfile.BadZipFile as exc:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise InvalidPackage(f"layer {arn} is not a zip: {exc}") from exc
            staging.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
    return target


def runtime_dir(cache: Path) -> Path:
    """Folder of links to boto3 and its dependencies only."""
    target = cache / "runtime"
    with _lock:
        if target.exists():
            return target
        staging = target.with_name("runtime.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in RUNTIME_MODULES:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise RuntimeError(f"{name} is not installed; the Lambda runtime needs it")
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
            (staging / source.name).symlink_to(source)
        staging.rename(target)
    return target


def sys_path(task: Path, opt: Path | None, runtime: Path) -> list[str]:
    """Import path in Lambda's order: the package, the layers' python folders, the runtime."""
    paths = [str(task)]
    if opt is not None:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        paths += [str(opt / "python" / "lib" / version / "site-packages"), str(opt / "python")]
    paths.append(str(runtime))
    return paths
