"""Write the workbook's bad inputs next to this script: ``python data/bad/make_bad_inputs.py``.

Each file breaks exactly one rule of the pipeline (see README.md here for what the API and
Rekognition answer). The script uses only the standard library and writes every byte itself
(PNG chunks, a stored deflate stream, GIF codes), so the output is the same on every machine
and every Python; ``tests/test_images.py`` regenerates the files and compares them with the
committed ones.
"""

from __future__ import annotations

import hashlib
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _gradient(width: int, height: int) -> list[bytes]:
    """RGB rows of a smooth gradient: a real-looking picture, no randomness."""
    return [
        bytes(channel for x in range(width) for channel in (x * 255 // width, y * 255 // height, 128))
        for y in range(height)
    ]


def _stored_zlib(data: bytes) -> bytes:
    # Stored (uncompressed) deflate blocks written by hand: zlib.compress() output can
    # change with the zlib build, these bytes cannot.
    out = bytearray(b"\x78\x01")
    blocks = [data[i : i + 0xFFFF] for i in range(0, len(data), 0xFFFF)] or [b""]
    for index, block in enumerate(blocks):
        final = 1 if index == len(blocks) - 1 else 0
        out += struct.pack("<BHH", final, len(block), len(block) ^ 0xFFFF) + block
    out += struct.pack(">I", zlib.adler32(data))
    return bytes(out)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int) -> bytes:
    """A valid 8-bit RGB PNG of the gradient."""
    raw = b"".join(b"\x00" + row for row in _gradient(width, height))  # filter type 0 per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", _stored_zlib(raw))
        + _chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    """A valid single-frame GIF89a with a 128-colour palette.

    LZW without compression: with a minimum code size of 7 every code is 8 bits (one byte)
    as long as a CLEAR code comes before the code table would need 9 bits, so the pixel
    indices can be written as they are.
    """
    palette = b"".join(bytes((i * 2, 255 - i * 2, 96)) for i in range(128))
    pixels = bytes((x + y) * 127 // (width + height - 2) for y in range(height) for x in range(width))
    clear, end = 128, 129
    codes = bytearray()
    for start in range(0, len(pixels), 100):  # 100 codes per CLEAR stays well under 9-bit codes
        codes.append(clear)
        codes += pixels[start : start + 100]
    codes.append(end)
    blocks = b"".join(bytes((len(codes[i : i + 255]),)) + codes[i : i + 255] for i in range(0, len(codes), 255))
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0xF6, 0, 0)  # global colour table of 2**(6+1) entries
        + palette
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, width, height, 0)
        + b"\x07"  # LZW minimum code size
        + blocks
        + b"\x00\x3b"
    )


def corrupt_jpeg(size: int = 2048) -> bytes:
    """A JPEG start (SOI and a JFIF APP0 segment) followed by bytes that are not JPEG data.

    The first bytes are a JPEG's, so a magic-bytes check passes; there is no frame header,
    no scan and no end marker, so nothing can decode it. The filler has no 0xFF byte, so
    no decoder can mistake part of it for a marker.
    """
    header = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    filler = bytearray()
    counter = 0
    while len(filler) < size:
        filler += hashlib.sha256(counter.to_bytes(8, "big")).digest().replace(b"\xff", b"")
        counter += 1
    return header + bytes(filler[:size])


def bad_inputs() -> dict[str, bytes]:
    """File name -> content, for every bad input (README.md says what each must cause)."""
    whole = png(120, 100)
    return {
        "not_an_image.png": (
            b"This is a text file with a .png name.\n"
            b"The API must judge an upload by its bytes, not by its name or Content-Type.\n"
        ),
        "drawing.gif": gif(120, 90),
        "truncated.png": whole[: len(whole) // 2],
        "tiny.png": png(10, 10),
        "corrupt.jpg": corrupt_jpeg(),
    }


def write(folder: Path = HERE) -> list[Path]:
    written = []
    for name, content in bad_inputs().items():
        path = folder / name
        path.write_bytes(content)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"{path.name:<18} {path.stat().st_size:>6} bytes")
