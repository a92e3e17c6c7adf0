"""image_checks, as provided (notebooks/provided/) and deployed by 05: format, structure and size
of an upload, stdlib only.

Every file of data/bad/ is refused with its exact status and code; the sample photos and
images written byte by byte pass; a bomb is refused from its header without inflating.
"""

from __future__ import annotations

import runpy
import struct
import time
import zlib

import pytest

from helpers import images, workspace
from localcloud.rekognition import checks as rekognition
from tests.notebook_code import load_function, module_source

NOTEBOOK = "05_api.ipynb"
BAD = workspace.DATA_DIR / "bad"
MAKE = runpy.run_path(str(BAD / "make_bad_inputs.py"))
SENT_AS = {".png": "image/png", ".jpg": "image/jpeg"}


@pytest.fixture(scope="module")
def ic(tmp_path_factory):
    return load_function(NOTEBOOK, "image_checks", tmp_path_factory.mktemp("image_checks"))


def refusal(ic, data, content_type="image/png"):
    with pytest.raises(ic.ImageError) as raised:
        ic.check(data, content_type)
    return raised.value.status, raised.value.code


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with(width: int, height: int, raw: bytes, *, colour: int = 0) -> bytes:
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


EXPECTED = {  # data/bad/ file -> (status, code), sent as PNG unless its name says .jpg
    "not_an_image.png": (400, "InvalidImage"),
    "not_an_image.json": (400, "InvalidImage"),
    "random.bin": (400, "InvalidImage"),
    "drawing.gif": (415, "UnsupportedImageFormat"),
    "drawing.tiff": (415, "UnsupportedImageFormat"),
    "drawing.bmp": (415, "UnsupportedImageFormat"),
    "header_only.webp": (415, "UnsupportedImageFormat"),
    "truncated.png": (400, "InvalidImage"),
    "bad_crc.png": (400, "InvalidImage"),
    "tiny.png": (400, "ImageTooSmall"),
    "too_wide.png": (413, "ImageTooLarge"),
    "bomb.png": (400, "DecompressionBomb"),
    "corrupt.jpg": (400, "InvalidImage"),
    "truncated.jpg": (400, "InvalidImage"),
}


def test_every_bad_file_is_listed_here():
    assert sorted(EXPECTED) == sorted(MAKE["bad_inputs"]())


@pytest.mark.parametrize("name", EXPECTED)
def test_every_bad_file_is_refused_with_its_status_and_code(ic, name):
    content_type = SENT_AS.get((BAD / name).suffix, "image/png")
    assert refusal(ic, (BAD / name).read_bytes(), content_type) == EXPECTED[name]


def test_the_readme_names_every_file_with_its_status_and_code():
    readme = (BAD / "README.md").read_text()
    for name, (status, code) in EXPECTED.items():
        assert f"| `{name}` |" in readme, name
        assert f"`{status} {code}`" in readme.split(f"| `{name}` |")[1].split("\n")[0], name


@pytest.mark.parametrize("path", images.sample_images(), ids=lambda path: path.name)
def test_the_sample_photos_pass(ic, path):
    info = ic.check(path.read_bytes(), SENT_AS[path.suffix])
    described = images.describe(path)
    assert (info.format, info.width, info.height) == (described["format"], described["width"], described["height"])


def test_images_written_byte_by_byte_pass(ic):
    assert ic.check(MAKE["png"](80, 80), "image/png") == ic.ImageInfo("PNG", 80, 80)
    assert ic.check(MAKE["jpeg_grey"](320, 240), "image/jpeg") == ic.ImageInfo("JPEG", 320, 240)
    assert ic.check(MAKE["png_gray_zeros"](10_000, 80), "image/png") == ic.ImageInfo("PNG", 10_000, 80)
    assert ic.check(png_with(100, 100, bytes(100 * 401), colour=6), "image/png") == ic.ImageInfo("PNG", 100, 100)


def test_format_detection(ic):
    assert ic.detect_format(b"\x89PNG\r\n\x1a\n") == "PNG" and ic.detect_format(b"\xff\xd8\xff\xe0") == "JPEG"
    assert ic.detect_format(b"GIF87a") == ic.detect_format(b"GIF89a") == "GIF"
    assert ic.detect_format(b"II*\x00....") == ic.detect_format(b"MM\x00*....") == "TIFF"
    assert ic.detect_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WebP"
    assert ic.detect_format(b"BM" + bytes(40)) == "BMP"
    assert ic.detect_format(b"\x00\x00\x00\x18ftypheic") == "HEIC"
    assert ic.detect_format(b"\x00\x00\x00\x18ftypavif") == "AVIF"
    assert ic.detect_format(b"") is ic.detect_format(b"{}") is ic.detect_format(b"\x00\x00\x00\x18ftypmp42") is None


def test_content_type_must_match_the_format_found(ic):
    assert refusal(ic, MAKE["png"](80, 80), "image/jpeg") == (400, "ContentTypeMismatch")
    assert refusal(ic, MAKE["jpeg_grey"](80, 80), "image/png") == (400, "ContentTypeMismatch")


def test_limits_are_the_local_clouds_rekognition_limits(ic):
    assert (ic.MIN_SIDE, ic.MAX_SIDE) == (rekognition.MIN_DIMENSION, rekognition.MAX_DIMENSION)
    assert ic.MAX_PIXELS == 89_478_485  # PIL.Image.MAX_IMAGE_PIXELS's default
    for width, height, expected in [(79, 80, "ImageTooSmall"), (80, 79, "ImageTooSmall"),
                                    (10_001, 80, "ImageTooLarge"), (80, 10_001, "ImageTooLarge"),
                                    (9_460, 9_460, "DecompressionBomb")]:
        with pytest.raises(ic.ImageError) as raised:
            ic.check_size("PNG", width, height, ic.MAX_SIDE)
        assert raised.value.code == expected, (width, height)
    assert ic.check_size("PNG", 9_459, 9_459, ic.MAX_SIDE) == ic.ImageInfo("PNG", 9_459, 9_459)


def test_without_a_side_limit_wide_images_pass_but_bombs_and_tiny_ones_do_not(ic):
    # Uploads straight to S3 (notebook 07): the label-detector downscales what is over 10000 pixels.
    assert ic.check_size("JPEG", 12_000, 900, None) == ic.ImageInfo("JPEG", 12_000, 900)
    wide = MAKE["png"](10_001, 80)
    assert refusal(ic, wide, "image/png") == (413, "ImageTooLarge")
    assert ic.check(wide, "image/png", max_side=None) == ic.ImageInfo("PNG", 10_001, 80)
    for width, height, expected in [(9_460, 9_460, "DecompressionBomb"), (79, 20_000, "ImageTooSmall")]:
        with pytest.raises(ic.ImageError) as raised:
            ic.check_size("PNG", width, height, None)
        assert raised.value.code == expected


def test_a_bomb_is_refused_from_its_header_without_inflating(ic, monkeypatch):
    # A whole bomb: 1 MiB of zlib that inflates to 1 GB, declared honestly as 32768 x 32768 grey.
    bomb = png_with(32_768, 32_768, b"")[:33] + chunk(b"IDAT", b"x" * 1_000_000) + chunk(b"IEND", b"")
    inflated = []
    monkeypatch.setattr(ic, "inflate_exactly", lambda *args: inflated.append(args))
    started = time.perf_counter()
    assert refusal(ic, bomb) == (400, "DecompressionBomb")
    assert refusal(ic, (BAD / "bomb.png").read_bytes()) == (400, "DecompressionBomb")
    assert time.perf_counter() - started < 1.0 and inflated == []


def test_a_stream_larger_than_its_header_claims_is_refused_early(ic):
    # 100 x 100 grey declares 10,100 bytes; the stream inflates to 200 MB. Stop after ~1 MiB.
    lying = png_with(100, 100, b"")[:33] + chunk(b"IDAT", zlib.compress(bytes(200_000_000), 9)) + chunk(b"IEND", b"")
    started = time.perf_counter()
    with pytest.raises(ic.ImageError, match="inflates to more than the 10,100 bytes its header declares"):
        ic.check(lying, "image/png")
    assert time.perf_counter() - started < 1.0


def test_png_structure_errors(ic):
    good = MAKE["png"](80, 80)
    idat_end = good.index(b"IEND") - 4
    assert refusal(ic, good + b"\x00") == (400, "InvalidImage")  # bytes after IEND
    assert refusal(ic, good[:-12]) == (400, "InvalidImage")  # IEND missing
    assert refusal(ic, good[:-1]) == (400, "InvalidImage")  # IEND cut
    assert refusal(ic, good[:idat_end - 1] + bytes([good[idat_end - 1] ^ 1]) + good[idat_end:]) == (400, "InvalidImage")
    short = png_with(100, 100, bytes(100 * 101 - 1))  # one byte less than the header implies
    with pytest.raises(ic.ImageError, match="ends after 10,099 of the 10,100 bytes"):
        ic.check(short, "image/png")
    assert refusal(ic, png_with(100, 100, bytes(100 * 101), colour=5)) == (400, "InvalidImage")  # no colour type 5
    no_ihdr = good[:8] + chunk(b"tEXt", b"a\x00b") + good[8:]
    with pytest.raises(ic.ImageError, match="does not start with its header chunk"):
        ic.check(no_ihdr, "image/png")
    with pytest.raises(ic.ImageError, match="fails its CRC check"):
        ic.check((BAD / "bad_crc.png").read_bytes(), "image/png")


def test_jpeg_padding_is_tolerated_but_not_other_trailing_bytes(ic):
    jpeg = MAKE["jpeg_grey"](120, 96)
    assert ic.check(jpeg + bytes(1000), "image/jpeg").width == 120
    with pytest.raises(ic.ImageError, match="bytes after its end-of-image marker"):
        ic.check(jpeg + b"\x00\x00garbage", "image/jpeg")
    assert refusal(ic, jpeg[:-2], "image/jpeg") == (400, "InvalidImage")  # no EOI


def test_jpeg_needs_a_frame_header_before_its_scan(ic):
    jpeg = MAKE["jpeg_grey"](120, 96)
    sof = jpeg.index(b"\xff\xc0")
    without_sof = jpeg[:sof] + jpeg[sof + 2 + 11:]
    with pytest.raises(ic.ImageError, match=r"image data \(SOS\) before its frame header"):
        ic.check(without_sof, "image/jpeg")
    # DHT (0xC4) is in the SOF range but is no frame header: its bytes must not be read as a size
    as_dht = jpeg[:sof] + b"\xff\xc4" + jpeg[sof + 2:]
    assert refusal(ic, as_dht, "image/jpeg") == (400, "InvalidImage")
    small = MAKE["jpeg_grey"](79, 200)
    assert refusal(ic, small, "image/jpeg") == (400, "ImageTooSmall")


def test_every_message_says_what_is_accepted(ic):
    for name in EXPECTED:
        with pytest.raises(ic.ImageError) as raised:
            ic.check((BAD / name).read_bytes(), SENT_AS.get((BAD / name).suffix, "image/png"))
        assert ("accepted: PNG or JPEG, at least 80 pixels a side" in raised.value.message
                or "send larger images through POST /uploads" in raised.value.message), name


def test_the_module_uses_only_the_standard_library():
    imports = {line.split()[1].split(".")[0] for line in module_source(NOTEBOOK, "image_checks").splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "struct", "zlib", "dataclasses"}, imports
