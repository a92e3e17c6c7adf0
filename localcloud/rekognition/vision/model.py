"""The pretrained classifier: converted once to ONNX, cached, then run by onnxruntime on CPU.

``prepare`` turns the pinned torch weights into an ONNX file in a cache folder (about a
second, once per weights and graph version); ``load`` opens it. The same image bytes always
give the same numbers: one thread, deterministic kernels, the same batch for the same image.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from . import graph, views, weights
from .exceptions import MAKE_SETUP, ModelNotInstalled, ModelUnavailable
from .views import View

if TYPE_CHECKING:
    import onnxruntime

MODEL_VERSION = "mobilenet_v2-b0353104 (torchvision, ImageNet-1k)"
SOURCE_KEY = "source_sha256"
# Views per inference call. Measured on this 2-core machine with one thread (27 views of a
# 4096x307 panorama): 1, 2, 4 or 8 per call all take ~225 ms and give identical numbers, but
# all 27 in one call take ~530 ms and need ~410 MB at once for their activations, against
# ~40 MB for 4. Batching buys nothing on one CPU thread.
BATCH_LIMIT = 4
RUNTIME_HINT = f"{MAKE_SETUP} (or: pip install 'onnx>=1.17,<2' 'onnxruntime>=1.20,<2')"


def cache_path(cache_dir: Path, source_sha256: str) -> Path:
    """Where the ONNX file for these weights and this graph version lives."""
    return Path(cache_dir) / f"mobilenet_v2-{source_sha256[:8]}-g{graph.GRAPH_VERSION}.onnx"


def prepare(cache_dir: Path) -> Path:
    """The converted model's path, converting the pinned weights only if no valid copy is cached.

    The weights are located and hash-checked on every call, even with a cached copy: a
    machine that lost the weights package must fail here as a fresh one would, not keep
    working on an old cache until its next clean checkout.
    """
    source = weights.locate()
    data = source.read_bytes()
    digest = weights.check_sha256(data, source)
    target = cache_path(cache_dir, digest)
    if _open_cached(target, digest) is not None:
        return target
    if importlib.util.find_spec("onnx") is None:
        raise ModelNotInstalled(f"onnx is not installed, so the weights cannot be converted: {RUNTIME_HINT}")
    model = graph.build(weights.parse(data), metadata={SOURCE_KEY: digest})
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written aside then renamed: a server starting at the same time sees no file or a whole one.
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=target.name, suffix=".tmp", delete=False) as tmp:
        tmp.write(model.SerializeToString())
    os.chmod(tmp.name, 0o644)  # a temporary file is private; the cache is not
    os.replace(tmp.name, target)
    return target


def load(cache_dir: Path) -> Classifier:
    """The classifier, ready to run; converts first if the cache has no valid copy."""
    started = time.perf_counter()
    source = weights.locate()
    digest = weights.check_sha256(source.read_bytes(), source)
    # The session that checked the cached file is the one kept: opening a second costs
    # another load of the weights (time, and memory the allocator may not give back).
    session = _open_cached(cache_path(cache_dir, digest), digest) or _session(prepare(cache_dir))
    return Classifier(session, MODEL_VERSION, time.perf_counter() - started)


class Classifier:
    """MobileNetV2 on onnxruntime's CPU provider, one thread."""

    def __init__(self, session: onnxruntime.InferenceSession, model_version: str, load_seconds: float) -> None:
        self._session = session
        self.model_version = model_version
        self.load_seconds = load_seconds

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits (N, 1000), cams (N, 1000, 7, 7)) for a batch from ``views.batch``, ``BATCH_LIMIT`` at a time."""
        outputs = [
            self._session.run(["logits", "cams"], {"image": images[i : i + BATCH_LIMIT]})
            for i in range(0, len(images), BATCH_LIMIT)
        ]
        return np.concatenate([o[0] for o in outputs]), np.concatenate([o[1] for o in outputs])

    def look(self, image: Image.Image) -> list[View]:
        """The whole image first, then its tiles (if it is a panorama or a strip)."""
        boxes = views.regions(*image.size)
        logits, cams = self.run(views.batch(image, boxes))
        probabilities = softmax(logits)
        return [View(box, probabilities[i], cams[i]) for i, box in enumerate(boxes)]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, so confidences near 100% keep their last digits."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _open_cached(path: Path, digest: str) -> onnxruntime.InferenceSession | None:
    """A session of the cached file if it says it was built from these weights; None if it is
    absent, unreadable or built from others."""
    if not path.is_file():
        return None
    try:
        session = _session(path)
    except ModelUnavailable:
        raise
    # onnxruntime's load errors (InvalidProtobuf, Fail, ...) derive from Exception itself.
    except Exception:  # noqa: BLE001 - a truncated or foreign file is rebuilt, not trusted
        return None
    return session if session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY) == digest else None


def _session(path: Path) -> onnxruntime.InferenceSession:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelNotInstalled(f"onnxruntime is not installed: {RUNTIME_HINT}") from exc
    options = onnxruntime.SessionOptions()
    # One thread: the same bytes give the same numbers (no thread-count-dependent reduction
    # order), and inference does not compete with the Lambda worker processes for the
    # machine's two cores; a photo takes about 10 ms on one core anyway.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.use_deterministic_compute = True
    # No memory arena: onnxruntime's keeps the largest activations it ever needed (~40 MB
    # after a few photos, more after a panorama's tiles) for the server's whole life; without
    # it they are freed after each run, and malloc returns them to the system with the
    # settings process.py starts the server with. Same numbers. Measured over HTTP: a photo
    # takes the same ~35 ms; a 27-view panorama ~345 ms instead of ~280 (its buffers are fresh
    # pages each run), for ~46 MB less in the server after it (2-core VM, DetectLabels S3Object).
    options.enable_cpu_mem_arena = False
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
