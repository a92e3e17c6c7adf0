"""From what the model saw to DetectLabels' ``Labels``: names, confidences, parents, boxes, filters.

Pure functions over numbers, so each rule is unit-tested without a model
(``tests/localcloud/test_rekognition_labels.py``).

How a confidence is made: the classifier gives, for each view of the image (the whole
picture, and tiles of a wide one), a probability for each of its 1000 classes. Several
classes can answer as one label (the five ImageNet cat breeds are all "Cat"), and a label's
ancestors cover every class below them, so a label's probability in a view is the sum over
the classes it covers: the chance that the picture shows *some* kind of cat, or *some*
animal. A label's confidence is its best view's, in percent. An ancestor therefore never has
less confidence than its child, as on AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import LabelFilters, as_float32
from .taxonomy import Taxonomy
from .vision.faces import Face
from .vision.views import Box, View, locate

# Below this a label is noise, not an answer, even with MinConfidence 0: the model spreads a
# little probability over all 1000 classes, and AWS does not list every label it knows.
LABEL_FLOOR_PERCENT = 0.5
# A view places an instance of a label only when it is fairly sure the label is there at all.
INSTANCE_MIN_PROBABILITY = 0.25
# Two boxes of one label from overlapping tiles are one object when most of the smaller lies
# inside the larger.
SAME_OBJECT_OVERLAP = 0.5
# Labels a visible face stands for, in Rekognition's words (Person with no parents on AWS).
FACE_LABELS = ("Person", "Face", "Head")
CONFIDENCE_DIGITS = 4
# Below this probability a label's rounded percentage cannot reach the floor.
_NEAR_FLOOR = LABEL_FLOOR_PERCENT / 100 * 0.98


@dataclass(frozen=True)
class Instance:
    box: Box
    confidence: float  # 0-100


@dataclass(frozen=True)
class Label:
    name: str
    confidence: float  # 0-100
    parents: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    instances: tuple[Instance, ...] = ()

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Label:
        """A label as it came in JSON (moto's canned answer), without its boxes."""

        def names(key: str) -> tuple[str, ...]:
            return tuple(item.get("Name", "") for item in wire.get(key, []))

        return cls(wire.get("Name", ""), float(wire.get("Confidence", 0.0)),
                   names("Parents"), names("Aliases"), names("Categories"))

    def to_wire(self) -> dict[str, Any]:
        """The label as DetectLabels puts it in JSON.

        Confidences go out as 32-bit floats, as AWS's do (99.9364013671875): MinConfidence is
        read as one too, so a MinConfidence equal to a label's confidence keeps it."""
        return {
            "Name": self.name,
            "Confidence": as_float32(self.confidence),
            "Instances": [
                {
                    "BoundingBox": {
                        "Width": round(i.box.width, CONFIDENCE_DIGITS),
                        "Height": round(i.box.height, CONFIDENCE_DIGITS),
                        "Left": round(i.box.left, CONFIDENCE_DIGITS),
                        "Top": round(i.box.top, CONFIDENCE_DIGITS),
                    },
                    "Confidence": as_float32(i.confidence),
                }
                for i in self.instances
            ],
            "Parents": [{"Name": name} for name in self.parents],
            "Aliases": [{"Name": name} for name in self.aliases],
            "Categories": [{"Name": name} for name in self.categories],
        }


class LabelIndex:
    """Which of the model's classes each label covers, as one matrix for all views at once."""

    def __init__(self, taxonomy: Taxonomy, class_count: int = 1000) -> None:
        self.taxonomy = taxonomy
        covered: dict[str, set[int]] = {}
        for index in range(class_count):
            info = taxonomy.for_class(index)
            for name in (info.name, *info.parents):
                covered.setdefault(name, set()).add(index)
        self.names = sorted(covered)
        self.cover = np.zeros((len(self.names), class_count), dtype=np.float32)
        for row, name in enumerate(self.names):
            self.cover[row, sorted(covered[name])] = 1.0
        # Labels a class answers as directly (not only as an ancestor): these get boxes.
        self.direct = {name: np.array(taxonomy.classes_of(name), dtype=np.int64) for name in self.names}
        self.direct = {name: classes for name, classes in self.direct.items() if classes.size}


def labels_from_views(views: Sequence[View], index: LabelIndex) -> list[Label]:
    """Every label the views support above the floor, with boxes where a view can place it."""
    if not views:
        return []
    probabilities = np.stack([view.probabilities for view in views]).astype(np.float32)
    per_label = probabilities @ index.cover.T  # (views, labels)
    best = per_label.max(axis=0)
    # Boxes come from the tiles when there are any: squeezed into 224 pixels, a whole
    # panorama shows nothing where it is; a single photo's only view is the whole image.
    placing = range(1, len(views)) if len(views) > 1 else range(1)
    out = []
    # Most of the ~1200 labels are far below the floor: only those near it are looked at one by one.
    for row in np.flatnonzero(best >= _NEAR_FLOOR):
        name = index.names[row]
        confidence = _percent(best[row])
        if confidence < LABEL_FLOOR_PERCENT:
            continue
        instances: list[Instance] = []
        classes = index.direct.get(name)
        if classes is not None:
            for v in placing:
                if per_label[v, row] >= INSTANCE_MIN_PROBABILITY:
                    instances += _place(views[v], classes, float(per_label[v, row]))
        info = index.taxonomy.label(name)
        out.append(
            Label(name, confidence, info.parents, info.aliases, info.categories, tuple(_one_per_object(instances)))
        )
    return out


def labels_from_faces(faces: Sequence[Face], taxonomy: Taxonomy) -> list[Label]:
    """Person (boxed at each face), Face and Head, at the surest face's confidence."""
    if not faces:
        return []
    confidence = max(face.confidence for face in faces)
    out = []
    for name in FACE_LABELS:
        info = taxonomy.label(name)
        instances = tuple(Instance(face.box, face.confidence) for face in faces) if name == "Person" else ()
        out.append(Label(name, confidence, info.parents, info.aliases, info.categories, instances))
    return out


def merge(*groups: Iterable[Label]) -> list[Label]:
    """One label per name: the higher confidence, and the instances of both."""
    merged: dict[str, Label] = {}
    for label in (label for group in groups for label in group):
        seen = merged.get(label.name)
        if seen is None:
            merged[label.name] = label
            continue
        stronger = label if label.confidence > seen.confidence else seen
        merged[label.name] = Label(
            stronger.name,
            stronger.confidence,
            stronger.parents,
            stronger.aliases,
            stronger.categories,
            tuple(_one_per_object([*seen.instances, *label.instances])),
        )
    # Most confident first; equal confidences by name, so the same bytes give the same order.
    return sorted(merged.values(), key=lambda label: (-label.confidence, label.name))


def apply_filters(labels: Iterable[Label], filters: LabelFilters) -> list[Label]:
    """``Settings.GeneralLabels``: inclusion filters first (a label stays if its name or one
    of its categories is included), then exclusion filters (it goes if its name or one of
    its categories is excluded). Names are matched exactly, as AWS lists them."""
    including = filters.include_labels or filters.include_categories
    kept = []
    for label in labels:
        categories = set(label.categories)
        if including and label.name not in filters.include_labels and not categories & filters.include_categories:
            continue
        if label.name in filters.exclude_labels or categories & filters.exclude_categories:
            continue
        kept.append(label)
    return kept


def _place(view: View, classes: np.ndarray, probability: float) -> list[Instance]:
    # The label's activation map: its classes' maps, each weighted by how sure the view is of it.
    weights = view.probabilities[classes].astype(np.float32)
    cam = np.tensordot(weights, view.cams[classes], axes=1)
    box = locate(cam, view.region)
    return [] if box is None else [Instance(box, _percent(probability))]


def _one_per_object(instances: list[Instance]) -> list[Instance]:
    kept: list[Instance] = []
    for candidate in sorted(instances, key=lambda i: (-i.confidence, i.box.left, i.box.top)):
        if all(_overlap(candidate.box, other.box) < SAME_OBJECT_OVERLAP for other in kept):
            kept.append(candidate)
    return kept


def _overlap(a: Box, b: Box) -> float:
    """The share of the smaller box that lies inside the other."""
    width = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    height = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min(a.width * a.height, b.width * b.height)
    return width * height / smaller if smaller > 0 else 0.0


def _percent(probability: float) -> float:
    return round(min(100.0, float(probability) * 100.0), CONFIDENCE_DIGITS)
