"""Which parts of an image the classifier looks at, as its input, and how its maps come back.

Pure functions of pixels and arrays, unit-tested without the model:

* ``WHOLE``: the whole image, squashed (not cropped) to 224x224, so the class activation
  maps cover the whole picture and a box found in them can be anywhere in it;
* ``tiles``: square windows along a panorama or a tall strip, where squashing the whole
  would shrink and distort every object beyond what the model was trained on;
* ``batch``: those regions as the model's input, RGB, ImageNet-normalised, NCHW float32;
* ``locate``: a class activation map (7x7) as a ``Box`` in the whole image's ratios,
  the way Rekognition's ``BoundingBox`` gives them.

``View`` is what the classifier returns for one region (``model.Classifier.look``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .graph import INPUT_SIZE

# The statistics torchvision's ImageNet models were trained with.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# x / 255 then (x - mean) / std, folded into one multiply-add per pixel.
_SCALE = (1.0 / (255.0 * STD)).astype(np.float32)
_SHIFT = (-MEAN / STD).astype(np.float32)
# Pillow first shrinks by an integer factor (box filter) when the image is at least this many
# times the target, then resamples: near-identical output, several times faster on large photos.
REDUCING_GAP = 3.0
# Transparent pixels are shown on white, as most viewers do.
BACKGROUND = (255, 255, 255, 255)

# Tiles start at a 2:1 aspect. Squashing a 2:1 image into a square distorts each object by 2x,
# well past the 3:4..4:3 aspect jitter torchvision trained with (RandomResizedCrop), and a
# square window there still sees at most half of the image: from 2:1 on, tiles see what the
# squashed whole cannot. Below it, the whole image alone is close to what the model knows.
TILE_ASPECT = 2.0
# Enough for a 16:1 strip at half-window overlap; longer strips get a longer stride instead,
# so the cost stays bounded (32 tiles cost about 32 photos' inference).
MAX_TILES = 32

# A class activation map is upsampled this many times per side (7x7 -> 56x56) before it is
# thresholded, so box edges fall between the coarse cells instead of on them.
UPSAMPLE = 8
# The part of the map kept: cells at least this far from the map's minimum to its maximum.
# Zhou et al. kept 20% for ILSVRC, which boxes nearly the whole photo when the object is large;
# 0.5 keeps the object's strongest half, closer to the tight boxes Rekognition draws, while
# still joining an object's parts (a cat's head and body) into one region.
LOCATE_FRACTION = 0.5
# A map whose range is below this (relative to its peak) carries no location.
FLAT = 1e-6


@dataclass(frozen=True)
class Box:
    """A rectangle in ratios (0..1) of the whole image's width and height, as Rekognition's BoundingBox."""

    left: float
    top: float
    width: float
    height: float

    def place(self, inner: Box) -> Box:
        """``inner``, given in this box's ratios, in the ratios of the image this box is in."""
        return Box(
            self.left + inner.left * self.width,
            self.top + inner.top * self.height,
            inner.width * self.width,
            inner.height * self.height,
        )

    def pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(left, upper, right, lower) in an image of ``width`` x ``height``, as Pillow's ``box``."""
        return (
            self.left * width,
            self.top * height,
            (self.left + self.width) * width,
            (self.top + self.height) * height,
        )


WHOLE = Box(0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class View:
    """What the model saw in one region of the image."""

    region: Box
    probabilities: np.ndarray  # (1000,) softmax over ImageNet-1k's classes
    cams: np.ndarray  # (1000, 7, 7) class activation maps over ``region``; their means are the logits


def regions(width: int, height: int) -> list[Box]:
    """What to look at in a ``width`` x ``height`` image: the whole, then its tiles (if any)."""
    return [WHOLE, *tiles(width, height)]


def tiles(width: int, height: int) -> list[Box]:
    """Square windows along the long side, the short side across, overlapping by half or more.

    None below ``TILE_ASPECT``. The first window starts at 0 and the last ends flush with the
    image; the ones between are evenly spaced, at most half a window apart (further only
    past ``MAX_TILES``), so every object up to half a window wide is wholly inside one.
    """
    long, short = max(width, height), min(width, height)
    if short <= 0 or long < TILE_ASPECT * short:
        return []
    span = long - short
    count = min(MAX_TILES, -(-2 * span // short) + 1)
    starts = [(i * span + (count - 1) // 2) // (count - 1) for i in range(count)]
    if width >= height:
        return [Box(start / width, 0.0, short / width, 1.0) for start in starts]
    return [Box(0.0, start / height, 1.0, short / height) for start in starts]


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, whatever Pillow decoded: alpha composited on white, 16-bit grey scaled down."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode in ("I", "I;16", "I;16L", "I;16B"):
        # Pillow's own conversion clips 16-bit values at 255 (a white image); scale instead.
        grey = np.asarray(image, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, BACKGROUND), rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...


def batch(image: Image.Image, boxes: Sequence[Box]) -> np.ndarray:
    """The model's input for ``boxes`` of ``image``: (len(boxes), 3, 224, 224) float32.

    Each box is resized to 224x224 as it is (squashed, not cropped), straight from the
    image it is given (the engine's working copy, 256 pixels on the short side), not from
    a whole-image view, so a tile keeps all the detail that copy has.
    """
    rgb = to_rgb(image)
    out = np.empty((len(boxes), 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for i, box in enumerate(boxes):
        view = rgb.resize(
            (INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, box=box.pixels(*rgb.size), reducing_gap=REDUCING_GAP
        )
        pixels = np.asarray(view, dtype=np.float32)
        out[i] = (pixels * _SCALE + _SHIFT).transpose(2, 0, 1)
    return out


def locate(cam: np.ndarray, region: Box = WHOLE) -> Box | None:
    """Where ``cam`` (one class's 7x7 map over ``region``) puts the class, in whole-image ratios.

    The map is upsampled bilinearly, kept where it reaches ``LOCATE_FRACTION`` of the way
    from its minimum to its maximum (min-max, as Zhou et al.'s code normalises, because the
    classifier's bias lifts every cell alike), and boxed around the connected part that holds
    the maximum: one object, not every blob of its class. None when the map is flat or
    nowhere positive: no evidence, so no box.
    """
    cam = np.asarray(cam, dtype=np.float64)
    peak, floor = float(cam.max()), float(cam.min())
    if not math.isfinite(peak) or not math.isfinite(floor) or peak <= 0 or peak - floor <= FLAT * max(abs(peak), 1.0):
        return None
    fine = _upsample(cam, UPSAMPLE)
    peak, floor = float(fine.max()), float(fine.min())
    kept = fine >= floor + LOCATE_FRACTION * (peak - floor)
    seed = np.unravel_index(int(np.argmax(fine)), fine.shape)
    rows, cols = np.nonzero(_component(kept, seed))
    n_rows, n_cols = fine.shape
    left, right = int(cols.min()), int(cols.max()) + 1
    top, bottom = int(rows.min()), int(rows.max()) + 1
    inner = Box(left / n_cols, top / n_rows, (right - left) / n_cols, (bottom - top) / n_rows)
    return region.place(inner)


def _upsample(grid: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear upsampling with half-pixel centres (torch's ``align_corners=False``)."""
    rows = _interpolation_matrix(grid.shape[0], factor)
    cols = _interpolation_matrix(grid.shape[1], factor)
    return rows @ grid @ cols.T


def _interpolation_matrix(n: int, factor: int) -> np.ndarray:
    out = np.arange(n * factor)
    source = np.clip((out + 0.5) / factor - 0.5, 0, n - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n - 1)
    weight = source - low
    matrix = np.zeros((n * factor, n))
    np.add.at(matrix, (out, low), 1 - weight)
    np.add.at(matrix, (out, high), weight)
    return matrix


def _component(mask: np.ndarray, seed: tuple[int, ...]) -> np.ndarray:
    """The 4-connected part of ``mask`` that contains ``seed`` (grown by array shifts, no scipy)."""
    region = np.zeros_like(mask)
    region[seed] = True
    while True:
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= mask
        if np.array_equal(grown, region):
            return region
        region = grown
