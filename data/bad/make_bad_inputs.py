"""Write the workbook's bad inputs next to this script: ``python data/bad/make_bad_inputs.py``.

Each file breaks exactly one rule of the pipeline (see README.md here for what the API and
Rekognition answer). The script uses only the standard library and writes every byte itself
(PNG chunks, stored and fixed-Huffman deflate streams, GIF codes, JPEG segments, TIFF and BMP
headers; "random" bytes come from SHA-256 of a counter), so the output is the same on every
machine and every Python; ``tests/test_images.py`` regenerates the files and compares them with the
committed ones.
"""

from __future__ import annotations

import hashlib
import json
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


def _zeros_zlib(count: int) -> bytes:
    """A zlib stream of ``count`` zero bytes, compressed by hand (fixed Huffman codes, RFC 1951).

    One literal 0, then "repeat 258 bytes from 1 back" (13 bits each) as often as fits, then
    literal zeros: about 1000:1, the ratio decompression bombs rely on, and byte for byte
    the same everywhere (zlib.compress() output can vary with the zlib build).
    """
    bits: list[int] = [1, 1, 0]  # BFINAL=1, BTYPE=01 (fixed Huffman), least significant bit first

    def code(value: int, length: int) -> None:  # Huffman codes go most significant bit first
        bits.extend((value >> shift) & 1 for shift in range(length - 1, -1, -1))

    if count:
        code(0x30, 8)  # literal 0
        remaining = count - 1
        while remaining >= 258:
            code(0xC5, 8)  # length symbol 285: 258 bytes
            code(0, 5)  # distance code 0: 1 byte back
            remaining -= 258
        for _ in range(remaining):
            code(0x30, 8)
    code(0, 7)  # end of block (symbol 256)
    bits.extend([0] * (-len(bits) % 8))
    packed = bytes(sum(bit << i for i, bit in enumerate(bits[at : at + 8])) for at in range(0, len(bits), 8))
    return b"\x78\x01" + packed + struct.pack(">I", zlib.adler32(bytes(count)))


def png_gray_zeros(width: int, height: int, data_bytes: int | None = None) -> bytes:
    """A black 8-bit greyscale PNG; ``data_bytes`` (if given) compresses only that much pixel data."""
    raw_size = height * (1 + width) if data_bytes is None else data_bytes
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + _chunk(b"IDAT", _zeros_zlib(raw_size))
        + _chunk(b"IEND", b"")
    )


def bad_crc_png() -> bytes:
    """A valid 120x100 PNG with one pixel byte changed after its CRC was computed (a transmission error)."""
    whole = bytearray(png(120, 100))
    whole[8 + 25 + 8 + 7 + 100] ^= 0xFF  # signature, IHDR chunk, IDAT header, zlib+block header, row 0
    return bytes(whole)


def jpeg_grey(width: int, height: int) -> bytes:
    """A valid baseline greyscale JPEG, mid-grey: every 8x8 block is "DC difference 0, end of block".

    The Huffman tables have one code each ("0", one bit), so the scan is all zero bits.
    """
    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, for symbol 0
    blocks = -(-width // 8) * -(-height // 8)
    scan = bytes(-(-blocks * 2 // 8))  # 2 bits per block; a whole byte of zeros at the end is padding too
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([1] * 64))  # quantisation table 0: all ones
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")  # SOF0: 1 component
        + segment(0xC4, b"\x00" + one_code)  # DC table 0
        + segment(0xC4, b"\x10" + one_code)  # AC table 0
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")  # SOS: component 1, tables 0/0, spectral 0-63
        + scan
        + b"\xff\xd9"
    )


def tiff(width: int, height: int) -> bytes:
    """A valid uncompressed RGB baseline TIFF (little-endian, "II*\\0") of the gradient."""
    pixels = b"".join(_gradient(width, height))
    bits_at = 8 + len(pixels)
    entries = [  # (tag, type: 3 SHORT / 4 LONG, count, value)
        (256, 3, 1, width), (257, 3, 1, height), (258, 3, 3, bits_at), (259, 3, 1, 1), (262, 3, 1, 2),
        (273, 4, 1, 8), (277, 3, 1, 3), (278, 3, 1, height), (279, 4, 1, len(pixels)),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<I", value) if kind == 4 or count > 1
                                                 else struct.pack("<HH", value, 0))
        for tag, kind, count, value in entries
    ) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", bits_at + 6) + pixels + struct.pack("<HHH", 8, 8, 8) + ifd


def bmp(width: int, height: int) -> bytes:
    """A valid 24-bit BMP of the gradient (rows bottom-up, BGR, padded to 4 bytes)."""
    rows = [bytes(reversed(row)) for row in _gradient(width, height)]  # reversed RGB row = BGR, right to left
    rows = [b"".join(row[i : i + 3] for i in range(len(row) - 3, -1, -3)) for row in rows]  # back left to right
    padding = bytes(-(width * 3) % 4)
    pixels = b"".join(row + padding for row in reversed(rows))
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(header) + len(pixels), 0, 0, 14 + len(header)) + header + pixels


def webp_header(width: int, height: int) -> bytes:
    """A WebP file's header only: RIFF/WEBP and an extended-format (VP8X) chunk giving the size."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (width - 1).to_bytes(3, "little") \
        + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def seeded_bytes(seed: bytes, size: int) -> bytes:
    """``size`` random-looking bytes, the same every time: SHA-256 of the seed and a counter."""
    out = b"".join(hashlib.sha256(seed + counter.to_bytes(8, "big")).digest() for counter in range(-(-size // 32)))
    return out[:size]


def bad_inputs() -> dict[str, bytes]:
    """File name -> content, for every bad input (README.md says what each must cause)."""
    whole = png(120, 100)
    jpeg = jpeg_grey(320, 240)
    return {
        "not_an_image.png": (
            b"This is a text file with a .png name.\n"
            b"The API must judge an upload by its bytes, not by its name or Content-Type.\n"
        ),
        "not_an_image.json": json.dumps({"image": "cat.png", "note": "JSON about an image, not the image's bytes"},
                                        indent=2).encode() + b"\n",
        "random.bin": seeded_bytes(b"serverless-image-workbook bad input", 4096),
        "drawing.gif": gif(120, 90),
        "drawing.tiff": tiff(120, 90),
        "drawing.bmp": bmp(120, 90),
        "header_only.webp": webp_header(120, 90),
        "truncated.png": whole[: len(whole) // 2],
        "bad_crc.png": bad_crc_png(),
        "tiny.png": png(10, 10),
        "too_wide.png": png_gray_zeros(10_001, 80),
        "bomb.png": png_gray_zeros(30_000, 30_000, data_bytes=1_000_000),
        "corrupt.jpg": corrupt_jpeg(),
        "truncated.jpg": jpeg[: len(jpeg) - 150],
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
