"""The image helpers the notebooks use, and the sample data they use them on. No server needed."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import runpy

import pytest
from PIL import Image, ImageDraw, UnidentifiedImageError

from helpers import images, workspace
from localcloud.rekognition import checks

DATA = workspace.DATA_DIR
BAD = DATA / "bad"
STATE_LIMIT = 262144  # Step Functions: 256 KiB of state input
PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg"]
GREY = (128, 128, 128)

LABELS = [
    {
        "name": "Person",
        "confidence": 99.2,
        "parents": [],
        "instances": [{"box": {"left": 0.25, "top": 0.2, "width": 0.5, "height": 0.6}, "confidence": 97.0}],
    },
    {"name": "Flag", "confidence": 91.0, "parents": ["Symbol"], "instances": []},
    {"name": "Astronaut", "confidence": 88.03, "parents": ["Person", "Adult"], "instances": []},
]


def _generator() -> dict:
    # run_path, not import: importing would leave a __pycache__ folder inside data/bad/.
    return runpy.run_path(str(BAD / "make_bad_inputs.py"))


def _png(size: tuple[int, int], colour=GREY, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


def _colours(image: Image.Image) -> set:
    return {colour for _, colour in image.getcolors(image.width * image.height)}


# --- sample photos ------------------------------------------------------------------------


def test_sample_images_are_the_committed_photos_sorted_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # notebooks run from notebooks/, not the repository root
    found = images.sample_images()
    assert [path.name for path in found] == PHOTOS
    assert all(path.is_absolute() and path.parent == DATA for path in found)


def test_at_least_two_photos_exceed_the_state_limit_and_data_stays_small():
    sizes = {path.name: path.stat().st_size for path in images.sample_images()}
    assert len([name for name, size in sizes.items() if size > STATE_LIMIT]) >= 2, sizes
    assert max(sizes.values()) < 2 * 1024 * 1024
    total = sum(path.stat().st_size for path in DATA.rglob("*") if path.is_file())
    assert total < 6 * 1024 * 1024


def test_sample_images_takes_only_png_and_jpeg_directly_in_the_folder(tmp_path):
    for name in ("b.png", "a.JPG", "c.jpeg", "notes.txt", "anim.gif"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    assert [path.name for path in images.sample_images(tmp_path)] == ["a.JPG", "b.png", "c.jpeg"]


def test_sample_images_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        images.sample_images(tmp_path / "nowhere")


def test_every_photo_is_a_jpeg_or_png_rekognition_accepts():
    for path in images.sample_images():
        info = checks.classify_image(path.read_bytes())
        assert info.format == {".png": "PNG", ".jpg": "JPEG"}[path.suffix]


# --- ATTRIBUTION.md -------------------------------------------------------------------------


def test_every_data_file_is_listed_in_the_attribution():
    attribution = (DATA / "ATTRIBUTION.md").read_text()
    files = [
        path.relative_to(DATA).as_posix()
        for path in DATA.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".md", ".py")
    ]
    assert len(files) == len(PHOTOS) + len(_generator()["bad_inputs"]()) + 1  # + large/panorama.jpg
    unlisted = [name for name in files if f"`{name}`" not in attribution]
    assert not unlisted, f"add these to data/ATTRIBUTION.md with source, author and licence: {unlisted}"


def test_attribution_sizes_pixels_and_hashes_match_the_files():
    attribution = (DATA / "ATTRIBUTION.md").read_text()
    rows = re.findall(r"^\| `([^`/]+)` \| (\d+) \| (\d+)x(\d+) ", attribution, flags=re.M)
    assert sorted(row[0] for row in rows) == PHOTOS
    hashes = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", attribution, flags=re.M))
    for name, size, width, height in rows:
        described = images.describe(DATA / name)
        assert (described["bytes"], described["width"], described["height"]) == (int(size), int(width), int(height))
        assert hashes[name] == described["sha256"]


def test_the_panorama_is_wider_than_rekognition_takes_and_fits_an_upload():
    described = images.describe(DATA / "large" / "panorama.jpg")
    assert (described["format"], described["width"], described["height"]) == ("JPEG", 12_000, 900)
    assert 4 * 1024 * 1024 > described["bytes"] > 1_000_000  # the width, not the bytes, is what the API refuses


# --- describe, image_id -------------------------------------------------------------------------


def test_describe_a_generated_png():
    # tiny.png is the generator's output: the same bytes everywhere, so a literal hash.
    assert images.describe(BAD / "tiny.png") == {
        "name": "tiny.png",
        "format": "PNG",
        "content_type": "image/png",
        "width": 10,
        "height": 10,
        "bytes": 378,
        "sha256": "d2281509af6891c34b549504394ec493651ab448b35358b0a2522ad4d50a3561",
    }


def test_describe_a_jpeg_and_a_gif(tmp_path):
    jpeg = tmp_path / "photo.jpeg"
    Image.new("RGB", (97, 83), (10, 200, 30)).save(jpeg, "JPEG", quality=90)
    described = images.describe(jpeg)
    assert {k: described[k] for k in ("name", "format", "content_type", "width", "height")} == {
        "name": "photo.jpeg", "format": "JPEG", "content_type": "image/jpeg", "width": 97, "height": 83}
    assert described["bytes"] == jpeg.stat().st_size
    assert described["sha256"] == hashlib.sha256(jpeg.read_bytes()).hexdigest()
    gif = images.describe(BAD / "drawing.gif")
    assert (gif["format"], gif["content_type"], gif["width"], gif["height"]) == ("GIF", None, 120, 90)


def test_describe_refuses_bytes_that_are_no_image():
    with pytest.raises(UnidentifiedImageError):
        images.describe(BAD / "not_an_image.png")


def test_image_id_is_the_sha256_hex_of_the_bytes():
    assert images.image_id(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert len(images.image_id(b"abc")) == 64 and images.image_id(b"abc") != images.image_id(b"abd")


# --- thumbnail ------------------------------------------------------------------------------


def test_thumbnail_is_a_png_no_larger_than_max_side_keeping_the_aspect():
    small = images.thumbnail(_png((600, 400)), max_side=256)
    assert small.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "PNG"
        assert image.width == 256 and abs(image.height - 256 * 400 / 600) <= 1


def test_thumbnail_never_enlarges_and_is_deterministic():
    source = _png((50, 30))
    assert Image.open(io.BytesIO(images.thumbnail(source))).size == (50, 30)
    assert images.thumbnail(source) == images.thumbnail(source)


def test_thumbnail_of_a_palette_gif_is_rgb_and_of_a_truncated_png_raises():
    with Image.open(io.BytesIO(images.thumbnail((BAD / "drawing.gif").read_bytes(), 60))) as image:
        assert image.mode == "RGB" and image.size == (60, 45)
    with pytest.raises(OSError):
        images.thumbnail((BAD / "truncated.png").read_bytes())
    with pytest.raises(ValueError, match="max_side"):
        images.thumbnail(_png((10, 10)), max_side=0)


# --- draw_labels ------------------------------------------------------------------------------


def test_draw_labels_draws_the_box_on_its_edges_only():
    drawn = images.draw_labels(_png((200, 100)), LABELS)
    colour = images.BOX_COLOURS[0]
    # Box of left .25, top .2, width .5, height .6 on 200x100: pixels x 50..149, y 20..79.
    for edge in [(50, 50), (51, 50), (149, 50), (148, 50), (100, 79), (100, 78)]:
        assert drawn.getpixel(edge) == colour, edge
    for outside_or_inside in [(49, 50), (150, 50), (100, 80), (100, 50), (52, 50), (147, 50)]:
        assert drawn.getpixel(outside_or_inside) == GREY, outside_or_inside
    assert drawn.size == (200, 100) and drawn.mode == "RGB"


@pytest.fixture
def captions(monkeypatch) -> list[tuple[str, tuple[float, float]]]:
    """Every (text, position) drawn with ImageDraw.text while the test runs."""
    drawn = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        drawn.append((text, xy))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    return drawn


def test_draw_labels_captions_name_and_instance_confidence_above_the_box(captions):
    drawn = images.draw_labels(_png((200, 100)), LABELS)
    assert [text for text, _ in captions] == ["Person 97.0%"]  # the instance's confidence, not the label's 99.2
    assert captions[0][1][1] < 20  # above the box's top edge (y=20)
    caption = drawn.crop((50, 0, 150, 20))
    pixels = _colours(caption)
    assert images.BOX_COLOURS[0] in pixels  # the caption's background
    assert (255, 255, 255) in pixels  # white text on a dark colour


def test_draw_labels_falls_back_to_label_confidence_colours_labels_and_clips(captions):
    cat_box = {"left": 0.5, "top": 0.5, "width": 0.25, "height": 0.25}
    labels = [
        {"name": "Cat", "confidence": 98.14, "instances": [{"box": cat_box}]},
        {"name": "Edge", "confidence": 60.0, "instances": [
            {"box": {"left": -0.1, "top": 0.0, "width": 0.3, "height": 1.2}, "confidence": 55.54},
            {"box": {"left": 1.2, "top": 0.1, "width": 0.1, "height": 0.1}, "confidence": 50.0},  # wholly outside
        ]},
    ]
    drawn = images.draw_labels(_png((200, 200)), labels)
    assert sorted(text for text, _ in captions) == ["Cat 98.1%", "Edge 55.5%"]
    assert drawn.getpixel((100, 120)) == images.BOX_COLOURS[0]  # Cat: left edge x=100, y 100..149
    assert drawn.getpixel((0, 150)) == images.BOX_COLOURS[1]  # Edge clipped to x=0 and to the bottom
    assert drawn.getpixel((39, 150)) == images.BOX_COLOURS[1]  # right edge at 0.2*200-1
    assert drawn.getpixel((100, 199)) == GREY


def test_draw_labels_puts_the_caption_inside_a_box_at_the_top_edge():
    sky = {"left": 0, "top": 0, "width": 1, "height": 0.5}
    labels = [{"name": "Sky", "confidence": 90.0, "instances": [{"box": sky}]}]
    drawn = images.draw_labels(_png((300, 200)), labels)
    assert images.BOX_COLOURS[0] in _colours(drawn.crop((4, 4, 60, 14)))


def test_where_captions_overlap_the_first_labels_caption_is_on_top():
    box = {"left": 0.1, "top": 0.5, "width": 0.5, "height": 0.4}
    labels = [
        {"name": "A", "confidence": 90.0, "instances": [{"box": box}]},
        {"name": "Much longer name", "confidence": 80.0, "instances": [{"box": box}]},
    ]
    drawn = images.draw_labels(_png((200, 200)), labels)
    assert drawn.getpixel((21, 99)) == images.BOX_COLOURS[0]  # just above the box, where both captions are


def test_draw_labels_is_deterministic_and_converts_greyscale_to_rgb():
    source = _png((120, 90), colour=128, mode="L")
    first, second = images.draw_labels(source, LABELS), images.draw_labels(source, LABELS)
    assert first.mode == "RGB" and first.tobytes() == second.tobytes()


def test_draw_labels_without_instances_leaves_the_image_as_it_was():
    drawn = images.draw_labels(_png((120, 90)), LABELS[1:])
    assert _colours(drawn) == {GREY}


# --- labels_table -------------------------------------------------------------------------------


def test_labels_table_text_is_exact():
    assert repr(images.labels_table(LABELS)) == (
        "label      confidence  boxes  parents\n"
        "Person          99.2%      1\n"
        "Flag            91.0%      0  Symbol\n"
        "Astronaut       88.0%      0  Person, Adult"
    )
    assert str(images.labels_table(LABELS)) == repr(images.labels_table(LABELS))
    assert repr(images.labels_table([])) == "no labels"


def test_labels_table_rows_and_html():
    table = images.labels_table(LABELS + [{"name": "<Tag & Co>", "confidence": 55, "parents": None}])
    assert table.rows[0] == ("Person", 99.2, 1, ())
    assert table.rows[-1] == ("<Tag & Co>", 55.0, 0, ())
    markup = table._repr_html_()
    assert markup.startswith("<table>") and markup.count("<tr>") == 5
    assert "&lt;Tag &amp; Co&gt;" in markup and "<Tag" not in markup
    assert "Person, Adult" in markup


# --- gallery ------------------------------------------------------------------------------------


def _gallery_items() -> list[dict]:
    labels = [*LABELS, {"name": "Helmet", "confidence": 70.0}]
    return [
        {"name": "astronaut.png", "image": _png((400, 200)), "status": "SUCCEEDED", "labels": labels},
        {"name": "truncated.png", "image": (BAD / "truncated.png").read_bytes(), "status": "FAILED",
         "error": {"Error": "InvalidImageFormatException", "Cause": "x" * 500}},
        {"name": "not_an_image.png", "status": "refused (400)"},
    ]


def test_gallery_text_is_names_and_statuses_only():
    text = repr(images.gallery(_gallery_items()))
    assert text == (
        "astronaut.png     SUCCEEDED\n"
        "truncated.png     FAILED\n"
        "not_an_image.png  refused (400)"
    )
    assert repr(images.gallery([])) == "empty gallery"


def test_gallery_html_has_thumbnails_captions_and_placeholders():
    markup = images.gallery(_gallery_items())._repr_html_()
    encoded = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", markup)
    assert len(encoded) == 1  # the truncated PNG and the item without bytes get a placeholder
    with Image.open(io.BytesIO(base64.b64decode(encoded[0]))) as thumb:
        assert thumb.size == (images.GALLERY_THUMBNAIL_SIDE, images.GALLERY_THUMBNAIL_SIDE // 2)
    assert markup.count("no preview") == 2
    assert "Person 99.2%, Flag 91.0%, Astronaut 88.0%" in markup and "Helmet" not in markup
    assert "InvalidImageFormatException: " + "x" * (images.GALLERY_CAUSE_CHARS - 1) + "…" in markup
    assert "x" * images.GALLERY_CAUSE_CHARS not in markup
    assert markup == images.gallery(_gallery_items())._repr_html_()


def test_gallery_escapes_text_and_needs_name_and_status():
    markup = images.gallery([{"name": "<script>.png", "status": "A&B"}])._repr_html_()
    assert "&lt;script&gt;.png" in markup and "A&amp;B" in markup and "<script>" not in markup
    with pytest.raises(KeyError, match="status"):
        images.gallery([{"name": "x.png"}])


# --- bad inputs --------------------------------------------------------------------------------


def test_bad_inputs_are_exactly_the_generators_output(tmp_path):
    generator = _generator()
    generator["write"](tmp_path)
    generated = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    committed = {path.name: path.read_bytes() for path in BAD.iterdir() if path.suffix not in (".md", ".py")}
    assert generated.keys() == committed.keys() == generator["bad_inputs"]().keys()
    for name in generated:
        assert generated[name] == committed[name], f"{name} differs: run python data/bad/make_bad_inputs.py"
    assert all(len(content) < 64 * 1024 for content in committed.values())


def test_bad_inputs_are_what_the_readme_says():
    text = (BAD / "not_an_image.png").read_bytes()
    assert text.decode("ascii").startswith("This is a text file")

    with Image.open(BAD / "drawing.gif") as gif:
        assert (gif.format, gif.size) == ("GIF", (120, 90))
        gif.load()  # a whole, valid GIF: only its format is wrong

    with Image.open(BAD / "truncated.png") as truncated:
        assert (truncated.format, truncated.size) == ("PNG", (120, 100))  # the header is intact
        with pytest.raises((OSError, SyntaxError)):
            truncated.verify()
    with Image.open(BAD / "truncated.png") as truncated, pytest.raises(OSError):
        truncated.load()

    with Image.open(BAD / "tiny.png") as tiny:
        assert (tiny.format, tiny.size) == ("PNG", (10, 10))
        tiny.verify()

    for name, kind in (("drawing.tiff", "TIFF"), ("drawing.bmp", "BMP")):
        with Image.open(BAD / name) as whole:
            assert (whole.format, whole.size) == (kind, (120, 90))
            whole.load()
    with Image.open(BAD / "too_wide.png") as wide:
        assert (wide.format, wide.size) == ("PNG", (10_001, 80))
        wide.load()
    with pytest.raises(Image.DecompressionBombError):  # Pillow refuses it from its header too
        Image.open(BAD / "bomb.png")
    with Image.open(BAD / "truncated.jpg") as cut:
        assert (cut.format, cut.size) == ("JPEG", (320, 240))
        with pytest.raises(OSError):
            cut.load()
    with Image.open(BAD / "bad_crc.png") as crc, pytest.raises((OSError, SyntaxError)):
        crc.verify()

    corrupt = (BAD / "corrupt.jpg").read_bytes()
    assert corrupt.startswith(b"\xff\xd8\xff") and b"\xff\xd9" not in corrupt
    with pytest.raises(UnidentifiedImageError):
        Image.open(BAD / "corrupt.jpg")


def test_readme_table_matches_the_api_rules_and_rekognition():
    readme = (BAD / "README.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([^|]+) \| `(\w+)` \| `?(\w+)`? \|$", readme, re.M)
    assert sorted(row[0] for row in rows) == sorted(_generator()["bad_inputs"]())
    for name, api_answer, rekognition_error, record in rows:
        content = (BAD / name).read_bytes()
        # The API refuses every one (data/bad/README.md; tests/test_image_checks.py checks the exact code).
        assert re.match(r"`4\d\d \w+`", api_answer.strip()), name
        assert record == "none", name
        with pytest.raises(Exception) as raised:
            checks.classify_image(content)
        assert type(raised.value).__name__ == rekognition_error, name


def test_variant_is_a_new_id_reproducibly():
    from helpers.images import image_id, sample_images, variant

    data = sample_images()[0].read_bytes()
    first, again, other = variant(data, "throttled"), variant(data, "throttled"), variant(data, "denied")
    assert first == again
    assert len({image_id(data), image_id(first), image_id(other)}) == 3
