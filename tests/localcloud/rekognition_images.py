"""Small, deterministic test images for the Rekognition tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image

SIZE = (100, 100)  # above Rekognition's 80-pixel minimum side


def encode(fmt: str, size: tuple[int, int] = SIZE, mode: str = "RGB", **options) -> bytes:
    """A gradient image (so JPEG has real entropy-coded data) encoded as ``fmt``."""
    width, height = size
    image = Image.linear_gradient("L").resize((width, height)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = SIZE) -> bytes:
    return encode("JPEG", size, quality=90)


def png(size: tuple[int, int] = SIZE) -> bytes:
    return encode("PNG", size)


def padded(data: bytes, total: int) -> bytes:
    """``data`` followed by zero bytes up to ``total``: a decoder stops at the image's end
    marker, so this is still a valid image, just a large file."""
    assert len(data) <= total
    return data + b"\0" * (total - len(data))
