"""DetectLabels input checks: pure functions from a request (or image bytes) to a typed error.

Nothing here touches moto's state or the network, so each rule is unit-tested on its own
(``tests/localcloud/test_rekognition_checks.py``); ``responses.py`` wires them into moto.

The rules, in the order applied here. AWS validates the API model before its service
code runs (1-2 before 3-9); the order among the service's own checks is not documented.

1. the body must read into the API model (types)          -> SerializationException
2. the API model's constraints (lengths, ranges, required) -> ValidationException,
   e.g. inline ``Image.Bytes`` over 5 MB, ``MinConfidence`` over 100
3. exactly one image source                                -> InvalidParameterException
4. the S3 object must exist in the caller's region         -> InvalidS3ObjectException
5. an S3 object over 15 MB                                 -> ImageTooLargeException
6. JPEG or PNG by its bytes, not its name                  -> InvalidImageFormatException
7. at most 10000 pixels a side                             -> ImageTooLargeException
8. the whole image decodes (PNG: every chunk CRC to IEND)  -> InvalidImageFormatException
9. at least 80 pixels a side                               -> InvalidParameterException

``Features`` and ``Settings`` (the label and category filters) are read and validated here
too; ``labels.py`` applies them to what the model found.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import struct
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PIL import Image, JpegImagePlugin, PngImagePlugin

from .exceptions import (
    ImageTooLargeException,
    InvalidImageFormatException,
    InvalidParameterException,
    SerializationException,
    ValidationException,
)

# Limits from "Guidelines and quotas in Amazon Rekognition" and the API model.
MAX_INLINE_BYTES = 5 * 1024 * 1024  # ImageBlob "max": 5242880 in the API model
MAX_S3_OBJECT_BYTES = 15 * 1024 * 1024  # "limited to 15 MB"; MiB, like the inline limit
MAX_DIMENSION = 10_000  # "maximum image dimensions for DetectLabels is 10K pixels"
MIN_DIMENSION = 80  # "minimum image dimensions is 80 pixels for both height and width"
DEFAULT_MIN_CONFIDENCE = 55.0  # "The default is 55%"
MAX_LABELS_LIMIT = 1000  # "The default and upper limit is 1000 labels"

# The API model's shapes for S3Object members: (min length, max length).
_S3_BUCKET_LENGTH = (3, 255)
_S3_BUCKET_PATTERN = r"[0-9A-Za-z\.\-_]*"
_S3_KEY_LENGTH = (1, 1024)
_S3_VERSION_LENGTH = (1, 1024)
_PERCENT_RANGE = (0, 100)

# Features and Settings, from the same API model.
FEATURES = ("GENERAL_LABELS", "IMAGE_PROPERTIES")
_FEATURES_MAX_ITEMS = 2
FILTER_LISTS = (
    "LabelInclusionFilters",
    "LabelExclusionFilters",
    "LabelCategoryInclusionFilters",
    "LabelCategoryExclusionFilters",
)
_FILTER_MAX_ITEMS = 100
_FILTER_VALUE_LENGTH = (0, 50)
# Copied as the model writes it: "'-_" is a range (apostrophe to underscore), as in Java.
_FILTER_VALUE_PATTERN = r"[A-Za-z0-9àâèçñó'-_(). ]*"
_DOMINANT_COLORS_RANGE = (0, 20)

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# One decode at a time: a 10000 x 10000 PNG needs ~400 MB while it decodes, and the
# server is threaded; this caps the worst case at one such image, not one per request.
DECODE_LOCK = threading.Lock()


@dataclass(frozen=True)
class S3ObjectRef:
    bucket: str | None
    name: str | None
    version: str | None


@dataclass(frozen=True)
class LabelFilters:
    """``Settings.GeneralLabels``: names of labels and of categories to keep or to drop."""

    include_labels: frozenset[str] = frozenset()
    exclude_labels: frozenset[str] = frozenset()
    include_categories: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DetectLabelsRequest:
    """A DetectLabels request that passed model validation; exactly one image source is set."""

    image_bytes: bytes | None
    s3_object: S3ObjectRef | None
    max_labels: int
    min_confidence: float
    features: tuple[str, ...] = ("GENERAL_LABELS",)
    filters: LabelFilters = LabelFilters()


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" or "PNG"
    width: int
    height: int


# --- request ---------------------------------------------------------------------------


def parse_request(body: Mapping[str, Any]) -> DetectLabelsRequest:
    """Read a DetectLabels JSON body as AWS does, or raise the error AWS would answer."""
    image = _typed(body, "Image", dict, "structure")
    max_labels = _typed(body, "MaxLabels", int, "integer")
    min_confidence = _typed(body, "MinConfidence", (int, float), "float")
    raw_bytes = _typed(image or {}, "Bytes", str, "base64 blob")
    s3 = _typed(image or {}, "S3Object", dict, "structure")
    bucket = _typed(s3 or {}, "Bucket", str, "string")
    name = _typed(s3 or {}, "Name", str, "string")
    version = _typed(s3 or {}, "Version", str, "string")
    image_bytes = None if raw_bytes is None else _base64(raw_bytes)
    features = _string_list(body, "Features")
    settings = _typed(body, "Settings", dict, "structure") or {}
    general = _typed(settings, "GeneralLabels", dict, "structure") or {}
    filter_lists = {key: _string_list(general, key) for key in FILTER_LISTS}
    properties = _typed(settings, "ImageProperties", dict, "structure") or {}
    dominant_colors = _typed(properties, "MaxDominantColors", int, "integer")

    violations = model_violations(
        image is None, image_bytes, bucket, name, version, max_labels, min_confidence
    ) + settings_violations(features, filter_lists, dominant_colors)
    if violations:
        raise ValidationException(violations)
    if (image_bytes is None) == (s3 is None):
        # Neither or both sources: the model allows it, the service does not.
        raise InvalidParameterException()
    return DetectLabelsRequest(
        image_bytes=image_bytes,
        s3_object=None if s3 is None else S3ObjectRef(bucket, name, version),
        max_labels=MAX_LABELS_LIMIT if max_labels is None else min(max_labels, MAX_LABELS_LIMIT),
        min_confidence=DEFAULT_MIN_CONFIDENCE if min_confidence is None else as_float32(min_confidence),
        # No Features at all means labels only, as AWS answers a request written before Features existed.
        features=("GENERAL_LABELS",) if features is None else tuple(dict.fromkeys(features)),
        filters=LabelFilters(*(frozenset(filter_lists[key] or ()) for key in FILTER_LISTS)),
    )


def model_violations(
    image_missing: bool,
    image_bytes: bytes | None,
    bucket: str | None,
    name: str | None,
    version: str | None,
    max_labels: int | None,
    min_confidence: float | None,
) -> list[str]:
    """Every API-model constraint the request breaks, in AWS's ValidationException wording.

    boto3 already refuses values below a minimum (MaxLabels -1, MinConfidence -1) before
    sending, but not values above a maximum (inline bytes over 5 MB, MinConfidence 101);
    other SDKs, raw HTTP and boto3 with ``parameter_validation=False`` reach the service.
    """
    out: list[str] = []
    if image_missing:
        out.append("Value null at 'image' failed to satisfy constraint: Member must not be null")
    if image_bytes is not None:
        out += _length("image.bytes", _java_buffer(len(image_bytes)), len(image_bytes), (1, MAX_INLINE_BYTES))
    if bucket is not None:
        out += _length("image.s3Object.bucket", bucket, len(bucket), _S3_BUCKET_LENGTH)
        if not re.fullmatch(_S3_BUCKET_PATTERN, bucket):
            out.append(
                f"Value '{bucket}' at 'image.s3Object.bucket' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {_S3_BUCKET_PATTERN}"
            )
    if name is not None:
        out += _length("image.s3Object.name", name, len(name), _S3_KEY_LENGTH)
    if version is not None:
        out += _length("image.s3Object.version", version, len(version), _S3_VERSION_LENGTH)
    if max_labels is not None and max_labels < 0:
        out.append(_range_message("maxLabels", str(max_labels), "greater than or equal to 0"))
    if min_confidence is not None:
        low, high = _PERCENT_RANGE
        narrowed = as_float32(min_confidence)  # AWS checks the float it parsed, not the JSON text
        shown = java_float_string(narrowed)
        if narrowed < low:
            out.append(_range_message("minConfidence", shown, f"greater than or equal to {low}"))
        elif narrowed > high:
            out.append(_range_message("minConfidence", shown, f"less than or equal to {high}"))
    return out


def settings_violations(
    features: list[str] | None, filter_lists: Mapping[str, list[str] | None], dominant_colors: int | None
) -> list[str]:
    """The API-model constraints on ``Features`` and ``Settings``, in the same wording."""
    out: list[str] = []
    if features is not None:
        if len(features) > _FEATURES_MAX_ITEMS:
            bound = f"length less than or equal to {_FEATURES_MAX_ITEMS}"
            out.append(_range_message("features", _java_list(features), bound, kind=""))
        if any(feature not in FEATURES for feature in features):
            out.append(
                f"Value '{_java_list(features)}' at 'features' failed to satisfy constraint: Member must satisfy "
                f"constraint: [Member must satisfy enum value set: [{', '.join(FEATURES)}]]"
            )
    for key, values in filter_lists.items():
        if values is None:
            continue
        path = "settings.generalLabels." + key[0].lower() + key[1:]
        if len(values) > _FILTER_MAX_ITEMS:
            bound = f"length less than or equal to {_FILTER_MAX_ITEMS}"
            out.append(_range_message(path, _java_list(values), bound, kind=""))
        low, high = _FILTER_VALUE_LENGTH
        if any(not low <= len(value) <= high or not re.fullmatch(_FILTER_VALUE_PATTERN, value) for value in values):
            out.append(
                f"Value '{_java_list(values)}' at '{path}' failed to satisfy constraint: Member must satisfy "
                f"constraint: [Member must have length less than or equal to {high}, Member must satisfy "
                f"regular expression pattern: {_FILTER_VALUE_PATTERN}]"
            )
    if dominant_colors is not None:
        low, high = _DOMINANT_COLORS_RANGE
        path, shown = "settings.imageProperties.maxDominantColors", str(dominant_colors)
        if dominant_colors < low:
            out.append(_range_message(path, shown, f"greater than or equal to {low}"))
        elif dominant_colors > high:
            out.append(_range_message(path, shown, f"less than or equal to {high}"))
    return out


def _java_list(values: list[str]) -> str:
    # AWS's validator prints a list member as Java's List.toString does.
    return "[" + ", ".join(values) + "]"


def _string_list(container: Mapping[str, Any], key: str) -> list[str] | None:
    values = _typed(container, key, list, "list")
    if values is not None and not all(isinstance(value, str) for value in values):
        raise SerializationException(f"{key} must be a list of strings")
    return values


def _typed(container: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = container.get(key)
    # JSON true/false arrive as bool, which Python counts as int; AWS does not.
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise SerializationException(f"{key} must be a {what}, got {type(value).__name__}")


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SerializationException("Image.Bytes is not valid base64") from exc


def _java_buffer(length: int) -> str:
    # AWS's validator prints the blob as the Java ByteBuffer holding it.
    return f"java.nio.HeapByteBuffer[pos=0 lim={length} cap={length}]"


def _length(path: str, shown: str, length: int, bounds: tuple[int, int]) -> list[str]:
    low, high = bounds
    if length < low:
        return [_range_message(path, shown, f"length greater than or equal to {low}", kind="")]
    if length > high:
        return [_range_message(path, shown, f"length less than or equal to {high}", kind="")]
    return []


def _range_message(path: str, shown: str, bound: str, kind: str = "value ") -> str:
    return f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must have {kind}{bound}"


def as_float32(value: float) -> float:
    """The value as AWS holds a ``float`` member: 32 bits, infinite beyond their range."""
    if math.isnan(value):
        return value
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def java_float_string(value: float) -> str:
    """``Float.toString`` of the value, as AWS's (Java) validator prints a float member.

    The value is first narrowed to 32 bits, then printed with the fewest digits that
    read back as the same float: plain decimal from 1e-3 up to 1e7, else ``d.dddE±n``.
    """
    if math.isnan(value):
        return "NaN"
    narrowed = as_float32(value)
    if math.isinf(narrowed):
        return "Infinity" if narrowed > 0 else "-Infinity"
    if narrowed == 0:
        return "-0.0" if math.copysign(1.0, narrowed) < 0 else "0.0"
    digits = Decimal(_shortest_float32_digits(narrowed))
    if 1e-3 <= abs(narrowed) < 1e7:
        plain = format(digits, "f")
        return plain if "." in plain else plain + ".0"
    sign, mantissa_digits, exponent = digits.as_tuple()
    mantissa = "".join(map(str, mantissa_digits)).rstrip("0") or "0"
    power = int(exponent) + len(mantissa_digits) - 1
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def _shortest_float32_digits(value: float) -> str:
    packed = struct.pack("<f", value)
    for precision in range(1, 10):
        text = f"{value:.{precision}g}"
        if struct.pack("<f", float(text)) == packed:
            return text
    return repr(value)


# --- image -----------------------------------------------------------------------------


def check_s3_object_size(size: int) -> None:
    """S3 objects may be up to 15 MB; AWS's exact message for this case is not public."""
    if size > MAX_S3_OBJECT_BYTES:
        raise ImageTooLargeException(
            f"S3 object size {size} bytes exceeds the maximum image size of {MAX_S3_OBJECT_BYTES} bytes"
        )


def sniff_format(data: bytes) -> str | None:
    """The format from the leading bytes, "JPEG" or "PNG", else None.

    AWS goes by the bytes too: neither the key's extension nor its Content-Type matters.
    """
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    return None


def classify_image(data: bytes) -> ImageInfo:
    """The image's format and size if DetectLabels would accept it, else AWS's error.

    Dimensions are read from the header and checked *before* decoding, so a small file
    announcing a huge image (a decompression bomb) costs nothing; what is decoded is at
    most 10000 x 10000 pixels, one image at a time. JPEGs decode at 1/8 scale, which
    still reads every entropy-coded byte (so truncation is caught) at a fraction of the cost.
    """
    kind = sniff_format(data)
    if kind is None:
        raise InvalidImageFormatException()
    # The plugin classes directly, not Image.open: we want the header's size even for a
    # bomb, and Image.open would raise its own DecompressionBombError before we see it.
    plugin = JpegImagePlugin.JpegImageFile if kind == "JPEG" else PngImagePlugin.PngImageFile
    try:
        image = plugin(io.BytesIO(data))
    except Exception as exc:  # any header Pillow cannot parse is, to AWS, not an image
        raise InvalidImageFormatException() from exc
    with image:
        width, height = image.size
        if width > MAX_DIMENSION or height > MAX_DIMENSION:
            raise ImageTooLargeException(
                f"Input image dimensions {width} x {height} exceed maximum dimension size of "
                f"{MAX_DIMENSION} pixels"
            )
        _decode(image, kind)
    if kind == "PNG":
        _verify_png_chunks(data)
    if width < MIN_DIMENSION or height < MIN_DIMENSION:
        raise InvalidParameterException()
    return ImageInfo(format=kind, width=width, height=height)


def _decode(image: Image.Image, kind: str) -> None:
    if kind == "JPEG":
        image.draft(None, (max(1, image.width // 8), max(1, image.height // 8)))
    with DECODE_LOCK:
        try:
            image.load()
        except Exception as exc:  # truncated, corrupt zlib/CRC, bad markers: all "invalid format"
            raise InvalidImageFormatException() from exc


def _verify_png_chunks(data: bytes) -> None:
    # Pillow stops decoding once it has every row, so a PNG cut after its pixel data
    # (lost IEND, lost CRC) would pass load(); verify() walks every chunk's CRC to IEND.
    try:
        with PngImagePlugin.PngImageFile(io.BytesIO(data)) as image:
            image.verify()
    except Exception as exc:  # Pillow raises SyntaxError, OSError, struct.error...: all broken
        raise InvalidImageFormatException() from exc


# --- labels ----------------------------------------------------------------------------


def select_labels(
    labels: Iterable[Mapping[str, Any]], min_confidence: float, max_labels: int
) -> list[Mapping[str, Any]]:
    """Labels at or above ``min_confidence``, most confident first, at most ``max_labels``.

    AWS "doesn't return any labels with confidence lower than" MinConfidence and returns
    "the specified number of highest confidence labels"; ties keep moto's order.
    """
    kept = [label for label in labels if float(label.get("Confidence", 0.0)) >= min_confidence]
    kept.sort(key=lambda label: float(label.get("Confidence", 0.0)), reverse=True)
    return kept[: max(0, max_labels)]
