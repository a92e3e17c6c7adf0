"""image_checks: is this body a whole PNG or JPEG that Rekognition can take? Standard library only.

check(data, content_type) returns the image's format and size, or raises ImageError with
the HTTP status, the error code and a message saying what was wrong and what is accepted.
Nothing is decoded to pixels: headers are read, PNG chunks are checked (length, CRC) and
their compressed data inflated under a bound set by the header; JPEG segments are walked.

Why each check (notebook 05 shows the refusals; this is the detail behind them):

- Magic bytes say what a file claims to be, not whether it is whole: a PNG cut in half still
  starts like a PNG, and Rekognition would refuse it only later, in the workflow, after a
  record, a staged object and an execution. So the structure is read, with the standard
  library only (Pillow is big, and decoding pixels would double Rekognition's work).
- Format, from the first bytes: PNG and JPEG go on; GIF, TIFF (II*\0, MM\0*), WebP
  (RIFF...WEBP), BMP (BM) and HEIC/AVIF (ftyp) are named and refused (415); anything else is
  not an image (400). The declared Content-Type must be the format found. Refusing rather
  than converting keeps an image library out of the Lambda.
- Size, from the header, before any pixel data is touched: Rekognition takes 80 to 10000
  pixels a side (the local cloud's Rekognition checks the same). More than 89,478,485 pixels
  in all (Pillow's MAX_IMAGE_PIXELS) is a decompression bomb: zeros compress about 1000:1, so
  a few kilobytes can declare 30000 x 30000 pixels and inflate to gigabytes.
- PNG: a list of chunks, each with its length and a CRC-32. Every chunk must lie inside the
  body and match its CRC (zlib.crc32), IHDR first, IEND last with nothing after it: that
  catches truncation and transmission errors. IDAT is inflated one MiB at a time and thrown
  away, stopping as soon as it exceeds the exact size the header implies (rows x bytes per
  row, plus a filter byte per row): a stream larger than its header says is refused without
  being inflated in full; one that ends short is truncated.
- JPEG: a chain of marker segments, walked from SOI. A frame header (SOF0 to SOF15, but not
  DHT, JPG or DAC, which share the range) gives the size, a scan (SOS) holds the image data,
  and EOI must end the file (zero bytes after it are tolerated as padding, nothing else).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

ACCEPTED = "accepted: PNG or JPEG, at least 80 pixels a side, at most 89,478,485 pixels in all"
MIN_SIDE = 80  # Rekognition: "minimum image dimensions is 80 pixels for both height and width"
MAX_SIDE = 10_000  # Rekognition: "maximum image dimensions ... is 10K pixels"
MAX_PIXELS = 89_478_485  # Pillow's MAX_IMAGE_PIXELS: more is treated as a decompression bomb
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INFLATE_STEP = 1 << 20  # inflate at most 1 MiB at a time: memory stays small whatever the stream


class ImageError(ValueError):
    """A body the API refuses: status, code and message become the 4xx answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> ImageError:
    return ImageError(400, "InvalidImage", f"{message}; {ACCEPTED}")


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG" or "JPEG"
    width: int
    height: int


def check(data: bytes, content_type: str, max_side: int | None = MAX_SIDE) -> ImageInfo:
    """The image in ``data``, sent as ``content_type``, if the API accepts it; else ImageError.

    ``max_side=None``: no limit on a side (uploads straight to S3, which the label-detector downscales).
    """
    kind = detect_format(data)
    if kind is None:
        raise ImageError(400, "InvalidImage", f"the body is not an image (its first bytes are no image "
                                              f"format's); {ACCEPTED}")
    if kind not in CONTENT_TYPES:
        raise ImageError(415, "UnsupportedImageFormat", f"the body is a {kind} image, which Rekognition does "
                                                        f"not read; {ACCEPTED} (convert it first)")
    if CONTENT_TYPES[kind] != content_type:
        raise ImageError(400, "ContentTypeMismatch", f"Content-Type is {content_type} but the body is a {kind} "
                                                     f"image: send it as {CONTENT_TYPES[kind]}")
    return check_png(data, max_side) if kind == "PNG" else check_jpeg(data, max_side)


def detect_format(data: bytes) -> str | None:
    """The format the first bytes announce: "PNG", "JPEG", another image format's name, or None."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:2] == b"BM" and len(data) >= 26:
        return "BMP"
    if data[4:8] == b"ftyp":  # ISO media files: the brand says which
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
    return None


def check_size(kind: str, width: int, height: int, max_side: int | None) -> ImageInfo:
    """Rekognition's limits, from the header alone: checked before any pixel data is read."""
    if width * height > MAX_PIXELS:
        raise ImageError(400, "DecompressionBomb", f"the {kind} header declares {width} x {height} pixels "
                                                   f"({width * height:,}), more than {MAX_PIXELS:,}: a small file "
                                                   f"that would inflate enormously; {ACCEPTED}")
    if max_side is not None and (width > max_side or height > max_side):
        raise ImageError(413, "ImageTooLarge", f"Input image dimensions {width} x {height} exceed maximum "
                                               f"dimension size of {max_side} pixels; send larger images "
                                               f"through POST /uploads")
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(400, "ImageTooSmall", f"Input image dimensions {width} x {height} are below the minimum "
                                               f"of {MIN_SIDE} pixels for both height and width; {ACCEPTED}")
    return ImageInfo(kind, width, height)


# --- PNG --------------------------------------------------------------------------------------

# colour type -> samples per pixel, and the bit depths allowed with it (PNG spec, IHDR)
PNG_COLOUR_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)),
                    4: (2, (8, 16)), 6: (4, (8, 16))}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def check_png(data: bytes, max_side: int | None = MAX_SIDE) -> ImageInfo:
    """Every chunk whole with a valid CRC, IHDR first, IEND last, and IDAT inflating exactly to its size."""
    chunks = list(png_chunks(data))
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise invalid("the PNG does not start with its header chunk (IHDR)")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if colour not in PNG_COLOUR_TYPES or depth not in PNG_COLOUR_TYPES[colour][1] or interlace > 1:
        raise invalid(f"the PNG header declares an impossible format (colour type {colour}, bit depth {depth})")
    info = check_size("PNG", width, height, max_side)  # before inflating anything: this is what stops a bomb
    if chunks[-1][0] != b"IEND":
        raise invalid("the PNG ends before its end chunk (IEND): it is truncated")
    idat = [body for kind, body in chunks if kind == b"IDAT"]
    if not idat:
        raise invalid("the PNG has no image data (IDAT chunk)")
    samples = PNG_COLOUR_TYPES[colour][0]
    inflate_exactly(idat, png_raw_size(width, height, samples * depth, interlace))
    return info


def png_chunks(data: bytes):
    """(type, body) of each chunk, up to IEND; refuses a chunk cut short, a bad CRC, or bytes after IEND."""
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 12 > len(data):
            raise invalid(f"the PNG is cut inside a chunk header at byte {offset}: it is truncated")
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        end = offset + 12 + length
        if end > len(data):
            raise invalid(f"the PNG's {kind.decode('latin-1')!r} chunk needs {length:,} bytes but the file ends "
                          f"first: it is truncated")
        body = data[offset + 8:end - 4]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4:end])[0]:
            raise invalid(f"the PNG's {kind.decode('latin-1')!r} chunk at byte {offset} fails its CRC check: "
                          f"the file is corrupt")
        yield kind, body
        offset = end
        if kind == b"IEND":
            if offset != len(data):
                raise invalid(f"the PNG has {len(data) - offset:,} bytes after its end chunk (IEND)")
            return


def png_raw_size(width: int, height: int, bits_per_pixel: int, interlace: int) -> int:
    """The exact size of the inflated pixel data: one filter byte per row, plus the rows."""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    total = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            total += rows * (1 + -(-(columns * bits_per_pixel) // 8))
    return total


def inflate_exactly(parts: list[bytes], expected: int) -> None:
    """Inflate the zlib stream in ``parts``, never holding more than INFLATE_STEP bytes of output.

    Refuses, as soon as it shows, a stream that inflates to more than ``expected`` bytes; and
    one that ends short, is corrupt, or is followed by extra bytes.
    """
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for part in parts:
            while part:
                produced += len(inflater.decompress(part, INFLATE_STEP))
                if produced > expected:
                    raise invalid(f"the PNG's image data inflates to more than the {expected:,} bytes its header "
                                  f"declares")
                part = inflater.unconsumed_tail
                if inflater.eof:
                    break
        produced += len(inflater.flush())
    except zlib.error as exc:
        raise invalid(f"the PNG's image data is corrupt ({exc})") from None
    if not inflater.eof or produced != expected:
        raise invalid(f"the PNG's image data ends after {produced:,} of the {expected:,} bytes its header declares: "
                      f"it is truncated")
    if inflater.unused_data or part:
        raise invalid("the PNG has extra bytes after its compressed image data")


# --- JPEG -------------------------------------------------------------------------------------

SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # 0xC4 DHT, 0xC8 JPG, 0xCC DAC are no frames
STANDALONE = set(range(0xD0, 0xD8)) | {0x01}  # RST0-7 and TEM carry no length


def check_jpeg(data: bytes, max_side: int | None = MAX_SIDE) -> ImageInfo:
    """Walk the marker segments from SOI: a frame header (SOF) for the size, a scan (SOS), EOI at the end."""
    offset, size, scans = 2, None, 0
    while True:
        if offset + 2 > len(data):
            raise invalid("the JPEG ends before its end-of-image marker (EOI): it is truncated")
        if data[offset] != 0xFF:
            raise invalid(f"the JPEG has no marker where one must be, at byte {offset} "
                          f"(0x{data[offset]:02x}): it is corrupt")
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker == 0xD9:  # EOI
            break
        if marker in STANDALONE:
            offset += 2
            continue
        if offset + 4 > len(data):
            raise invalid("the JPEG is cut inside a segment header: it is truncated")
        length = struct.unpack(">H", data[offset + 2:offset + 4])[0]
        end = offset + 2 + length
        if length < 2 or end > len(data):
            raise invalid(f"the JPEG's segment 0xFF{marker:02X} at byte {offset} runs past the end of the file: "
                          f"it is truncated")
        if marker in SOF_MARKERS:
            if length < 8:
                raise invalid("the JPEG's frame header (SOF) is too short")
            height, width = struct.unpack(">HH", data[offset + 5:offset + 9])
            if width == 0 or height == 0:
                raise invalid(f"the JPEG's frame header declares {width} x {height} pixels")
            size = check_size("JPEG", width, height, max_side)
        elif marker == 0xDA:  # SOS: entropy-coded data follows until the next marker
            if size is None:
                raise invalid("the JPEG has image data (SOS) before its frame header (SOF)")
            scans += 1
            end = scan_end(data, end)
        offset = end
    if size is None or not scans:
        raise invalid("the JPEG has no frame header (SOF) or no image data (SOS)")
    trailing = data[offset + 2:]
    if trailing.strip(b"\x00"):
        raise invalid(f"the JPEG has {len(trailing):,} bytes after its end-of-image marker (EOI) that are not "
                      f"padding")
    return size


def scan_end(data: bytes, offset: int) -> int:
    """Where the entropy-coded data from ``offset`` ends: the next 0xFF not stuffed (0xFF00) or a restart."""
    while True:
        offset = data.find(b"\xff", offset)
        if offset < 0 or offset + 1 >= len(data):
            raise invalid("the JPEG's image data is cut short (no end-of-image marker, EOI): it is truncated")
        following = data[offset + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            offset += 1 if following == 0xFF else 2
            continue
        return offset
