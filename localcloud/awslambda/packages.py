"""Unpacks deployment packages and layers where execution environments can import them.

Content-addressed folders under the instance's state folder: a package is unpacked once
per distinct zip, however many environments or functions use it. The runtime folder
holds only what Lambda's Python runtime ships besides the standard library (boto3 and
its dependencies), linked from this interpreter's site-packages, so a handler cannot
import the workbook's own packages (Pillow, requests) unless its zip or a layer has them.

Unpacking is bounded as Lambda bounds it: a zip whose central directory adds up to more
than 250 MB (262144000 bytes), with its layers, is refused before anything is written,
and extraction itself counts the bytes it writes, so a member whose header understates
its size cannot write more than the limit either. Entries that would land outside the
folder (absolute paths, ``..``) make the package invalid.
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
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath

# What Lambda's Python runtimes provide on top of the standard library.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
# Lambda's quota: "250 MB (unzipped), including layers", the figure its errors name.
MAX_UNZIPPED_BYTES = 262144000
_CHUNK = 1024 * 1024

_lock = threading.Lock()


class InvalidPackage(ValueError):
    """The deployment package or a layer is not a readable zip, or has entries outside its folder."""


class PackageTooLarge(InvalidPackage):
    """The package (with its layers) unzips to more than Lambda allows."""

    def __init__(self, size: int, limit: int = MAX_UNZIPPED_BYTES) -> None:
        super().__init__(f"unzipped size {size} exceeds {limit} bytes")
        self.size = size
        self.limit = limit


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and not (path.parts and ":" in path.parts[0])


def unzipped_size(zip_bytes: bytes) -> int:
    """The total size the central directory declares; InvalidPackage when it is not a safe zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InvalidPackage(f"not a zip: {exc}") from exc
    for info in infos:
        if not _safe_name(info.filename):
            raise InvalidPackage(f"entry {info.filename!r} would be written outside the package's folder")
    return sum(info.file_size for info in infos)


def _extract(zip_bytes: bytes, target: Path, budget: int) -> int:
    """Extract into ``target`` writing at most ``budget`` bytes; returns the bytes written."""
    written = 0
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            for info in archive.infolist():
                if not _safe_name(info.filename):
                    raise InvalidPackage(f"entry {info.filename!r} would be written outside the package's folder")
                destination = target.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, open(destination, "wb") as sink:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > budget:  # the header lied, or the limit is reached
                            raise PackageTooLarge(written, budget)
                        sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise InvalidPackage(f"not a zip: {exc}") from exc
    return written


def _staging(target: Path) -> Path:
    return target.with_name(f"{target.name}.tmp{os.getpid()}.{threading.get_ident()}")


def _unpack_into(target: Path, zips: Sequence[bytes], budget: int) -> None:
    """Unpack ``zips`` in order into ``target`` atomically: a half-written folder is never used."""
    if target.exists():
        return
    declared = sum(unzipped_size(data) for data in zips)
    if declared > budget:
        raise PackageTooLarge(declared, budget)
    staging = _staging(target)
    try:
        for data in zips:  # later zips overwrite earlier ones, as layers merge into /opt
            budget -= _extract(data, staging, budget)
        staging.mkdir(parents=True, exist_ok=True)  # an empty zip still makes a folder
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def code_key(zip_bytes: bytes) -> str:
    return hashlib.sha256(zip_bytes).hexdigest()


def opt_key(layers: Sequence[tuple[str, bytes]]) -> str:
    # By content, not by ARN alone: this folder outlives the local cloud's in-memory state, and
    # after a restart the same ARN (``name:1`` again) can hold other bytes.
    return hashlib.sha256("\n".join(f"{arn} {code_key(zip_bytes)}" for arn, zip_bytes in layers).encode()).hexdigest()


def task_root(cache: Path, zip_bytes: bytes, budget: int = MAX_UNZIPPED_BYTES) -> Path:
    """The folder holding this package's files (LAMBDA_TASK_ROOT)."""
    target = cache / "code" / code_key(zip_bytes)
    with _lock:
        _unpack_into(target, [zip_bytes], budget)
    return target


def opt_dir(cache: Path, layers: Sequence[tuple[str, bytes]], budget: int = MAX_UNZIPPED_BYTES) -> Path | None:
    """One folder with the layers unpacked in order, as Lambda merges them into /opt."""
    if not layers:
        return None
    target = cache / "opt" / opt_key(layers)
    with _lock:
        _unpack_into(target, [zip_bytes for _, zip_bytes in layers], budget)
    return target


def remove_unused(cache: Path, keep_code: Collection[str], keep_opt: Collection[str]) -> list[Path]:
    """Delete unpacked packages and layer folders no function uses any more; returns what went."""
    removed = []
    with _lock:
        for kind, keep in (("code", keep_code), ("opt", keep_opt)):
            folder = cache / kind
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if ".tmp" in entry.name or entry.name in keep:  # staging folders belong to a running unpack
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


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
