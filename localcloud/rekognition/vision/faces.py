"""Faces, for the "Person" label that ImageNet-1k rarely gives (it has no class for a person
as such; only three roles: ballplayer, groom, scuba diver).

OpenCV's Haar cascade for frontal faces (Viola-Jones), whose trained XML ships inside the
``opencv-python-headless`` wheel, so nothing is downloaded. It finds upright faces that
look roughly at the camera; a person seen from behind, in profile or too small is missed
(``docs/localcloud/fidelity/rekognition.md`` lists these blind spots).

The image is searched at a fixed working size (``WORKING_SHORT_SIDE``): a cascade's cost
grows with the number of windows it tries, so a face under ``MIN_FACE_PIXELS`` at that size
(an eighth of the short side) is not searched for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .exceptions import ModelNotInstalled, ModelUnavailable
from .views import Box

CASCADE = "haarcascade_frontalface_alt2.xml"  # fewer false faces than _default at the same speed
WORKING_SHORT_SIDE = 256
MAX_WORKING_LONG_SIDE = 4096  # a 12000-pixel panorama is searched at this width, not more
# At the working size (an eighth of a 256-pixel side). The smallest windows are the most
# numerous: 32 instead of 24 made the search ~30 % faster with the same faces and votes on
# every sample photo and the panorama (measured on the 2-core machine).
MIN_FACE_PIXELS = 32
SCALE_STEP = 1.2
MIN_NEIGHBOURS = 4


@dataclass(frozen=True)
class Face:
    box: Box
    confidence: float  # 0-100


class FaceDetector:
    """Loads the cascade once. One ``find`` at a time: the engine serialises calls, as OpenCV
    does not promise that one CascadeClassifier may be shared between threads."""

    def __init__(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise ModelNotInstalled(
                "the face detector needs OpenCV, which is not installed: run `make setup` "
                "(or: pip install 'opencv-python-headless>=4.8,<5')"
            ) from exc
        # One thread: the local cloud shares two cores with the Lambda workers it runs.
        cv2.setNumThreads(1)
        path = cv2.data.haarcascades + CASCADE
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise ModelUnavailable(
                f"OpenCV's face cascade {CASCADE} is missing or unreadable in {cv2.data.haarcascades}: "
                f"reinstall it with `make setup` (opencv-python-headless)"
            )
        self._cascade = cascade
        self.version = f"OpenCV {cv2.__version__} {CASCADE}"

    def find(self, image: Image.Image) -> list[Face]:
        """Every frontal face in ``image``, largest first, with boxes in ratios of the image."""
        scale = working_scale(image.width, image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        grey = np.asarray(image.convert("L").resize(size, Image.BILINEAR))
        boxes, votes = self._cascade.detectMultiScale2(
            grey, scaleFactor=SCALE_STEP, minNeighbors=MIN_NEIGHBOURS, minSize=(MIN_FACE_PIXELS, MIN_FACE_PIXELS)
        )
        faces = [
            Face(
                Box(left=x / size[0], top=y / size[1], width=w / size[0], height=h / size[1]),
                confidence_from_votes(int(n)),
            )
            # detectMultiScale2 gives one vote count per box.
            for (x, y, w, h), n in zip(
                np.asarray(boxes).reshape(-1, 4).tolist(), np.asarray(votes).ravel().tolist(), strict=True
            )
        ]
        faces.sort(key=lambda face: (-face.box.width * face.box.height, face.box.left, face.box.top))
        return faces


def working_scale(width: int, height: int) -> float:
    """The factor that brings the short side to the working size, never enlarging, long side capped."""
    scale = min(1.0, WORKING_SHORT_SIDE / min(width, height))
    return min(scale, MAX_WORKING_LONG_SIDE / max(width, height))


def confidence_from_votes(votes: int) -> float:
    """A Haar cascade has no probability; the number of overlapping detections that agree is
    its evidence. The least a face needs (``MIN_NEIGHBOURS``) maps to 50 %, each as many again
    halves the doubt: 8 votes 75 %, 16 votes 94 %. A heuristic, and named as such in the docs."""
    return round(100.0 * (1.0 - 0.5 ** (votes / MIN_NEIGHBOURS)), 3)
