"""From model outputs to DetectLabels' labels (``rekognition/labels.py``), without a model.

Views are built by hand: a probability vector over the 1000 ImageNet classes and 7x7
activation maps, so each rule (confidences summed up the hierarchy, the floor, boxes only
from sure views, one box per object, faces, merging, filters) is checked on exact numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from localcloud.rekognition import labels, taxonomy
from localcloud.rekognition.checks import LabelFilters
from localcloud.rekognition.vision.faces import Face, confidence_from_votes
from localcloud.rekognition.vision.views import WHOLE, Box, View

TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
ESPRESSO, CUP, TRIPOD = 967, 968, 872


@pytest.fixture(scope="module")
def index() -> labels.LabelIndex:
    return labels.LabelIndex(taxonomy.load())


def view(probabilities: dict[int, float], region: Box = WHOLE, hot: tuple[int, int] | None = (3, 3)) -> View:
    """A view that gives these classes these probabilities, the rest spread evenly, with every
    class's activation map peaking at cell ``hot`` (None: flat maps, nowhere to place anything)."""
    p = np.zeros(1000, dtype=np.float32)
    for cls, value in probabilities.items():
        p[cls] = value
    rest = 1.0 - p.sum()
    p[p == 0] = rest / (1000 - len(probabilities))
    cams = np.zeros((1000, 7, 7), dtype=np.float32)
    if hot is not None:
        cams[:, hot[0], hot[1]] = 5.0
    return View(region, p, cams)


def by_name(found: list[labels.Label]) -> dict[str, labels.Label]:
    return {label.name: label for label in found}


# --- confidences and the hierarchy ------------------------------------------------------


def test_breeds_add_up_to_one_label_and_ancestors_are_never_less_sure(index):
    found = by_name(labels.labels_from_views([view({TABBY: 0.4, TIGER_CAT: 0.3, EGYPTIAN_CAT: 0.2})], index))
    assert found["Cat"].confidence == pytest.approx(90.0, abs=0.1)
    assert found["Cat"].parents == ("Mammal", "Pet", "Animal")
    for ancestor in found["Cat"].parents:
        assert found[ancestor].confidence >= found["Cat"].confidence
    assert found["Cat"].categories == ("Animals and Pets",)


def test_no_raw_class_names_reach_the_answer(index):
    found = labels.labels_from_views([view({TABBY: 0.9})], index)
    names = [label.name for label in found]
    assert not any("," in name or name.startswith("n0") or name.islower() for name in names), names


def test_labels_below_the_floor_are_left_out_even_at_min_confidence_zero(index):
    found = by_name(labels.labels_from_views([view({ESPRESSO: 0.99})], index))
    # The other 999 classes share 1 %, about 0.001 % each: no label gathers 0.5 % of them.
    assert set(found) == {"Espresso", "Coffee", "Beverage"}
    assert all(label.confidence >= labels.LABEL_FLOOR_PERCENT for label in found.values())


def test_a_label_takes_its_best_view(index):
    whole = view({TRIPOD: 0.3})
    tile = view({TRIPOD: 0.8}, region=Box(0.5, 0.0, 0.5, 1.0))
    found = by_name(labels.labels_from_views([whole, tile], index))
    assert found["Tripod"].confidence == pytest.approx(80.0, abs=0.1)


def test_no_views_no_labels(index):
    assert labels.labels_from_views([], index) == []


# --- boxes --------------------------------------------------------------------------------


def test_a_sure_single_view_places_the_object_where_its_map_peaks(index):
    found = by_name(labels.labels_from_views([view({ESPRESSO: 0.9}, hot=(0, 6))], index))
    (instance,) = found["Espresso"].instances
    assert instance.box.left > 0.5 and instance.box.top < 0.5  # top right, where the map peaks
    assert instance.confidence == found["Espresso"].confidence
    # Ancestors answer for many classes and are not placed, as on AWS.
    assert found["Coffee"].instances == () and found["Beverage"].instances == ()


def test_an_unsure_view_places_nothing(index):
    found = by_name(labels.labels_from_views([view({ESPRESSO: labels.INSTANCE_MIN_PROBABILITY - 0.05})], index))
    assert found["Espresso"].instances == ()


def test_a_flat_map_places_nothing(index):
    found = by_name(labels.labels_from_views([view({ESPRESSO: 0.9}, hot=None)], index))
    assert found["Espresso"].confidence == pytest.approx(90.0, abs=0.1)
    assert found["Espresso"].instances == ()


def test_tiles_place_one_box_each_and_boxes_land_in_their_tile(index):
    whole = view({TABBY: 0.6})
    left = view({TABBY: 0.9}, region=Box(0.0, 0.0, 0.5, 1.0))
    right = view({TABBY: 0.7}, region=Box(0.5, 0.0, 0.5, 1.0))
    cat = by_name(labels.labels_from_views([whole, left, right], index))["Cat"]
    assert len(cat.instances) == 2
    first, second = cat.instances  # surest first
    assert first.confidence == pytest.approx(90.0, abs=0.1) and first.box.left + first.box.width <= 0.5
    assert second.confidence == pytest.approx(70.0, abs=0.2) and second.box.left >= 0.5


def test_overlapping_tiles_that_see_one_object_give_one_box(index):
    a = view({TABBY: 0.9}, region=Box(0.0, 0.0, 0.6, 1.0), hot=(3, 6))
    b = view({TABBY: 0.8}, region=Box(0.4, 0.0, 0.6, 1.0), hot=(3, 1))  # the same spot, seen from b
    cat = by_name(labels.labels_from_views([view({TABBY: 0.5}), a, b], index))["Cat"]
    assert len(cat.instances) == 1
    assert cat.instances[0].confidence == pytest.approx(90.0, abs=0.1)


def test_to_wire_has_rekognitions_shape(index):
    found = by_name(labels.labels_from_views([view({CUP: 0.9})], index))
    wire = found["Cup"].to_wire()
    assert sorted(wire) == ["Aliases", "Categories", "Confidence", "Instances", "Name", "Parents"]
    assert wire["Parents"] == [{"Name": "Tableware"}]
    assert wire["Aliases"] == [{"Name": "Mug"}]
    assert wire["Categories"] == [{"Name": "Kitchen and Dining"}]
    (instance,) = wire["Instances"]
    assert sorted(instance["BoundingBox"]) == ["Height", "Left", "Top", "Width"]
    assert all(0.0 <= value <= 1.0 for value in instance["BoundingBox"].values())


# --- people -------------------------------------------------------------------------------


def test_a_face_gives_person_boxed_at_each_face_and_face_and_head_unboxed():
    tax = taxonomy.load()
    faces = [Face(Box(0.1, 0.1, 0.2, 0.2), 75.0), Face(Box(0.6, 0.2, 0.1, 0.1), 50.0)]
    found = by_name(labels.labels_from_faces(faces, tax))
    assert set(found) == {"Person", "Face", "Head"}
    assert found["Person"].parents == () and found["Person"].aliases == ("Human",)
    assert [i.box for i in found["Person"].instances] == [faces[0].box, faces[1].box]
    assert found["Face"].parents == ("Head", "Person") and found["Face"].instances == ()
    assert {label.confidence for label in found.values()} == {75.0}


def test_no_face_no_person():
    assert labels.labels_from_faces([], taxonomy.load()) == []


@pytest.mark.parametrize(("votes", "confidence"), [(4, 50.0), (8, 75.0), (16, 93.75), (0, 0.0)])
def test_face_confidence_grows_with_the_cascades_votes(votes, confidence):
    assert confidence_from_votes(votes) == confidence


# --- merging ------------------------------------------------------------------------------


def test_merge_keeps_the_surer_label_with_both_sets_of_boxes_and_orders_by_confidence():
    box_a, box_b = Box(0.0, 0.0, 0.2, 0.2), Box(0.7, 0.7, 0.2, 0.2)
    weak = labels.Label("Person", 30.0, instances=(labels.Instance(box_a, 30.0),))
    strong = labels.Label("Person", 80.0, aliases=("Human",), instances=(labels.Instance(box_b, 80.0),))
    other = labels.Label("Bobsled", 40.0)
    tie = labels.Label("Animal", 40.0)
    merged = labels.merge([weak, other], [strong, tie])
    assert [(label.name, label.confidence) for label in merged] == [
        ("Person", 80.0),
        ("Animal", 40.0),  # equal confidences by name, so the order never varies
        ("Bobsled", 40.0),
    ]
    assert merged[0].aliases == ("Human",)
    assert [i.box for i in merged[0].instances] == [box_b, box_a]


# --- Settings.GeneralLabels filters -------------------------------------------------------

CAT = labels.Label("Cat", 96.0, ("Mammal", "Pet", "Animal"), categories=("Animals and Pets",))
ANIMAL = labels.Label("Animal", 97.0, categories=("Animals and Pets",))
CUP_LABEL = labels.Label("Cup", 20.0, ("Tableware",), categories=("Kitchen and Dining",))
FOUND = [ANIMAL, CAT, CUP_LABEL]


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        (LabelFilters(), ["Animal", "Cat", "Cup"]),
        (LabelFilters(include_labels=frozenset({"Cat"})), ["Cat"]),
        (LabelFilters(include_labels=frozenset({"cat"})), []),  # names match exactly
        (LabelFilters(exclude_labels=frozenset({"Cat"})), ["Animal", "Cup"]),
        (LabelFilters(include_categories=frozenset({"Kitchen and Dining"})), ["Cup"]),
        (LabelFilters(exclude_categories=frozenset({"Animals and Pets"})), ["Cup"]),
        # A label is in if its name or its category is included...
        (LabelFilters(include_labels=frozenset({"Cup"}), include_categories=frozenset({"Animals and Pets"})),
         ["Animal", "Cat", "Cup"]),
        # ...and exclusion wins over inclusion.
        (LabelFilters(include_categories=frozenset({"Animals and Pets"}), exclude_labels=frozenset({"Animal"})),
         ["Cat"]),
        (LabelFilters(include_labels=frozenset({"Cat"}), exclude_categories=frozenset({"Animals and Pets"})), []),
    ],
)
def test_general_labels_filters(filters, kept):
    assert [label.name for label in labels.apply_filters(FOUND, filters)] == kept
