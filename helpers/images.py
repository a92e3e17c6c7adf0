"""The pictures side of the workbook: sample photos, their ids, labels drawn on them, galleries.

Notebook cells stay a few lines long when this lives here, and it is unit-tested once
(``tests/test_images.py``) instead of being re-read in every notebook. nbval compares each
cell's text output with the committed one, so everything a notebook displays from here has
a deterministic text form: the same photo and labels give the same text on every machine.

Labels have the label-detector's shape from docs/pipeline.md:
``[{"name": "Cat", "confidence": 98.1, "parents": ["Animal"],
"instances": [{"box": {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}, "confidence": 97.0}]}]``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, features

from . import workspace

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
# The only formats Rekognition (and so the pipeline) accepts, and the API's binary media types.
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
# One colour per label, in label order; saturated so a box shows on any photo.
BOX_COLOURS = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (255, 225, 25),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
)
# How many labels a gallery caption names; the rest are in labels_table().
GALLERY_TOP_LABELS = 3
# Thumbnails are inlined in the notebook file: at 160 px a photo's PNG is about 35-50 KB.
GALLERY_THUMBNAIL_SIDE = 160
# Rekognition/Lambda error causes can be long JSON documents; a caption shows their start.
GALLERY_CAUSE_CHARS = 120


def data_dir() -> Path:
    """The checkout's ``data/`` folder: the sample photos, ``bad/`` inputs and ``large/`` images."""
    return workspace.DATA_DIR


def sample_images(folder: str | Path = "data") -> list[Path]:
    """The sample photos (PNG and JPEG files directly in ``folder``), sorted by name.

    A relative ``folder`` is taken from the repository root, not the working directory,
    because notebooks run from ``notebooks/`` and tests from the root. Subfolders (such as
    ``data/bad/``) are not searched: the bad inputs are sent on purpose, one by one.
    Print ``path.name``, not the path: the absolute path is the learner's machine's.
    """
    base = Path(folder)
    if not base.is_absolute():
        base = workspace.REPO_ROOT / base
    if not base.is_dir():
        raise FileNotFoundError(f"no folder {base}: the sample photos live in data/ at the repository root")
    return sorted(path for path in base.iterdir() if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES)


def image_id(image_bytes: bytes) -> str:
    """The pipeline's id for an image: the SHA-256 of its bytes, in hex.

    Content-derived, so the same photo sent twice is the same object, record and execution
    (docs/pipeline.md, "Ids and keys"), and a notebook can compute the id it will GET.
    """
    return hashlib.sha256(image_bytes).hexdigest()


def variant(image_bytes: bytes, tag: str) -> bytes:
    """The same picture as a new PNG with one pixel set from ``tag``: a new id, reproducibly.

    An image's id is its content hash and the execution is named after it, so a
    demonstration that must run the workflow again needs different bytes, but the same
    bytes on every run of the notebook.
    """
    colour = tuple(hashlib.sha256(tag.encode()).digest()[:3])
    with Image.open(io.BytesIO(image_bytes)) as opened:
        image = opened.convert("RGB")
    image.putpixel((0, 0), colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def describe(path: str | Path) -> dict[str, Any]:
    """What the pipeline needs to know about an image file before sending it.

    Keys: name, format (Pillow's: "PNG", "JPEG", "GIF"...), content_type (the header to
    send; None for a format the API does not accept), width, height, bytes, sha256 (the
    image's id). Reads only the image header, so it works on a truncated file; it raises
    PIL.UnidentifiedImageError for bytes that are no image at all.
    """
    path = Path(path)
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        image_format, (width, height) = image.format, image.size
    return {
        "name": path.name,
        "format": image_format,
        "content_type": CONTENT_TYPES.get(image_format),
        "width": width,
        "height": height,
        "bytes": len(data),
        "sha256": image_id(data),
    }


def thumbnail(image_bytes: bytes, max_side: int = 256) -> bytes:
    """A PNG of the image scaled down to at most ``max_side`` pixels a side (never up).

    For inlining as base64 in a notebook's HTML, where the full photo would bloat the
    committed notebook (a 256 px photo thumbnail is still about 100 KB; the gallery uses
    ``GALLERY_THUMBNAIL_SIDE``). PNG, lossless and without timestamps, so the same input
    gives the same bytes with the same Pillow build.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    with Image.open(io.BytesIO(image_bytes)) as image:
        small = _displayable(image)
        small.thumbnail((max_side, max_side))
    out = io.BytesIO()
    small.save(out, "PNG")
    return out.getvalue()


def draw_labels(image_bytes: bytes, labels: Sequence[Mapping[str, Any]]) -> Image.Image:
    """The image with a box around every label instance, captioned "Name 97.0%".

    Shows what DetectLabels found *where*: the confidences in a table say nothing about
    which part of the picture a label refers to. Boxes are fractions of the image's size
    (docs/pipeline.md); Rekognition may return a box reaching slightly past an edge, so
    boxes are clipped to the image. Each label gets one colour (``BOX_COLOURS``, in label
    order) and the caption shows the instance's confidence (the label's if the instance
    has none). Captions use Pillow's built-in font: no font file, no network.
    """
    with Image.open(io.BytesIO(image_bytes)) as original:
        image = original.convert("RGB")
    draw = ImageDraw.Draw(image)
    width, height = image.size
    line = max(2, round(max(width, height) / 200))
    font = _caption_font(max(12, round(max(width, height) / 40)))
    captions = []
    for index, label in enumerate(labels):
        colour = BOX_COLOURS[index % len(BOX_COLOURS)]
        for instance in label.get("instances") or []:
            box = _pixel_box(instance["box"], width, height)
            if box is None:
                continue
            draw.rectangle(box, outline=colour, width=line)
            confidence = instance.get("confidence", label["confidence"])
            captions.append((box, f"{label['name']} {float(confidence):.1f}%", colour))
    # Captions after all boxes, so that no box is drawn across a caption; in reverse, so
    # that where captions overlap the most confident label's (the first) stays readable.
    for box, text, colour in reversed(captions):
        _draw_caption(draw, box, text, colour, font, width)
    return image


class LabelsTable:
    """Labels as a table: plain text for nbval and print(), HTML for Jupyter.

    ``rows`` holds (name, confidence, boxes, parents) per label, in the order given
    (Rekognition's: most confident first).
    """

    columns = ("label", "confidence", "boxes", "parents")

    def __init__(self, labels: Sequence[Mapping[str, Any]]) -> None:
        self.rows = [
            (
                str(label["name"]),
                float(label["confidence"]),
                len(label.get("instances") or []),
                tuple(str(parent) for parent in label.get("parents") or []),
            )
            for label in labels
        ]

    def _cells(self) -> list[tuple[str, str, str, str]]:
        return [(name, f"{conf:.1f}%", str(boxes), ", ".join(parents)) for name, conf, boxes, parents in self.rows]

    def __repr__(self) -> str:
        if not self.rows:
            return "no labels"
        cells = self._cells()
        widths = [max(len(row[i]) for row in [self.columns, *cells]) for i in range(len(self.columns))]

        def line(row: Sequence[str]) -> str:
            name, confidence, boxes, parents = row
            # Numbers right-aligned so their digits line up.
            text = f"{name:<{widths[0]}}  {confidence:>{widths[1]}}  {boxes:>{widths[2]}}  {parents}"
            return text.rstrip()

        return "\n".join(line(row) for row in [self.columns, *cells])

    __str__ = __repr__

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<p>no labels</p>"
        head = "".join(f"<th>{column}</th>" for column in self.columns)
        body = "".join(
            "<tr>"
            f"<td>{html.escape(name)}</td><td style='text-align:right'>{conf}</td>"
            f"<td style='text-align:right'>{boxes}</td><td>{html.escape(parents)}</td>"
            "</tr>"
            for name, conf, boxes, parents in self._cells()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def labels_table(labels: Sequence[Mapping[str, Any]]) -> LabelsTable:
    """The labels as a table (label, confidence, boxes, parents) that displays in a notebook."""
    return LabelsTable(labels)


class Gallery:
    """Thumbnails with captions in Jupyter; names and statuses, one per line, as text.

    The text form leaves out labels and errors on purpose: it is what nbval compares, and
    on the local cloud it stays the same whatever labels a run returns. The HTML embeds
    base64 PNG thumbnails, whose bytes depend on the Pillow/zlib build that encoded them.
    """

    def __init__(self, items: Iterable[Mapping[str, Any]]) -> None:
        self.items = [dict(item) for item in items]
        for item in self.items:
            missing = {"name", "status"} - item.keys()
            if missing:
                raise KeyError(f"gallery item {item.get('name', item)!r} lacks {', '.join(sorted(missing))}")

    def __repr__(self) -> str:
        if not self.items:
            return "empty gallery"
        width = max(len(str(item["name"])) for item in self.items)
        return "\n".join(f"{str(item['name']):<{width}}  {item['status']}" for item in self.items)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        figures = "".join(self._figure(item) for item in self.items)
        return f"<div style='display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start'>{figures}</div>"

    @staticmethod
    def _figure(item: Mapping[str, Any]) -> str:
        name = html.escape(str(item["name"]))
        side = GALLERY_THUMBNAIL_SIDE
        picture = f"<div style='width:{side}px;padding:40px 0;text-align:center;background:#eee'>no preview</div>"
        if item.get("image") is not None:
            try:
                data = base64.b64encode(thumbnail(item["image"], side)).decode("ascii")
                picture = f"<img src='data:image/png;base64,{data}' alt='{name}'>"
            # The gallery also shows the bad inputs: bytes Pillow cannot read get a placeholder.
            except (OSError, SyntaxError, ValueError):
                pass
        caption = f"<b>{name}</b> · {html.escape(str(item['status']))}"
        detail = _caption_detail(item)
        if detail:
            caption += f"<br>{html.escape(detail)}"
        return (
            f"<figure style='margin:0;max-width:{side}px'>"
            f"{picture}<figcaption style='font-size:90%'>{caption}</figcaption></figure>"
        )


def gallery(items: Iterable[Mapping[str, Any]]) -> Gallery:
    """A gallery of images with their outcome, for showing a batch at a glance.

    Each item is a mapping with ``name`` and ``status``, and optionally ``image`` (the
    bytes), ``labels`` and ``error`` (``{"Error", "Cause"}``), so a record from
    ``GET /images/{id}`` fits as it is: ``{"name": path.name, "image": path.read_bytes(), **record}``.
    Captions name the top labels, or the error.
    """
    return Gallery(items)


# --- internals ------------------------------------------------------------------------


def _displayable(image: Image.Image) -> Image.Image:
    # Palette, CMYK, 16-bit and 1-bit images become RGB(A) or L so they scale smoothly
    # and save as an ordinary PNG; load() here also surfaces a truncated file's error.
    image.load()
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image.copy()
    has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow embeds a small TrueType font (Aileron); without FreeType only a fixed bitmap
    # font is available, which ignores the size but still draws.
    if features.check("freetype2"):
        return ImageFont.load_default(size=size)
    return ImageFont.load_default()


def _pixel_box(box: Mapping[str, float], width: int, height: int) -> tuple[int, int, int, int] | None:
    """Fractional box -> inclusive pixel corners (x0, y0, x1, y1), clipped; None if outside."""
    x0 = round(float(box["left"]) * width)
    y0 = round(float(box["top"]) * height)
    x1 = round((float(box["left"]) + float(box["width"])) * width) - 1
    y1 = round((float(box["top"]) + float(box["height"])) * height) - 1
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width - 1, x1), min(height - 1, y1)
    if x1 < x0 or y1 < y0:
        return None
    return x0, y0, x1, y1


def _draw_caption(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    text: str,
    colour: tuple[int, int, int],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    image_width: int,
) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = 2
    label_w, label_h = right - left + 2 * pad, bottom - top + 2 * pad
    x = max(0, min(box[0], image_width - label_w))
    # Above the box when there is room, else just inside its top edge.
    y = box[1] - label_h if box[1] - label_h >= 0 else box[1]
    draw.rectangle((x, y, x + label_w - 1, y + label_h - 1), fill=colour)
    red, green, blue = colour
    ink = (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else (255, 255, 255)
    draw.text((x + pad - left, y + pad - top), text, fill=ink, font=font)


def _caption_detail(item: Mapping[str, Any]) -> str:
    labels = item.get("labels") or []
    if labels:
        return ", ".join(f"{label['name']} {float(label['confidence']):.1f}%" for label in labels[:GALLERY_TOP_LABELS])
    error = item.get("error")
    if error:
        cause = str(error.get("Cause") or "")
        if len(cause) > GALLERY_CAUSE_CHARS:
            cause = cause[: GALLERY_CAUSE_CHARS - 1] + "…"
        return f"{error.get('Error', 'Error')}: {cause}" if cause else str(error.get("Error", "Error"))
    return ""
