"""Rekognition-style labels for the model's 1000 ImageNet classes: names, ancestors, aliases, categories.

The local cloud's DetectLabels answers from an ImageNet-1k classifier, whose class names
("tabby, tabby cat", "n02123045") are nothing like AWS's labels ("Cat", with Parents Mammal,
Pet, Animal). This module maps one onto the other from two generated, committed tables in
``data/``: ``imagenet_labels.tsv`` (class index -> label) and ``labels.tsv`` (every label's
parents, aliases and categories). ``data/make_labels.py`` makes them from WordNet, the
hierarchy ImageNet's classes come from, and the curated names in
``data/rekognition_names.tsv``; WordNet is not needed here.

Parents list all ancestors, nearest (most specific) first, as AWS's documentation describes
(Car -> Vehicle, Transportation). AWS's label model 3.0 sends the same names sorted
alphabetically (Dog -> Animal, Canine, Mammal, Pet): sort them at the wire if that matters.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# Rekognition's label categories, as the DetectLabels category filters
# (LabelCategoryInclusionFilters / ExclusionFilters) name them.
CATEGORIES = frozenset(
    {
        "Animals and Pets",
        "Apparel and Accessories",
        "Beauty and Personal Care",
        "Buildings and Architecture",
        "Colors and Visual Composition",
        "Damage Detection",
        "Education",
        "Everyday Objects",
        "Expressions and Emotions",
        "Food and Beverage",
        "Furniture and Furnishings",
        "Health and Fitness",
        "Hobbies and Interests",
        "Home and Indoors",
        "Home Appliances",
        "Kitchen and Dining",
        "Materials",
        "Medical",
        "Nature and Outdoors",
        "Offices and Workspaces",
        "Patterns and Shapes",
        "Person Description",
        "Plants and Flowers",
        "Popular Landmarks",
        "Public Safety",
        "Religion",
        "Sports",
        "Symbols and Flags",
        "Technology and Computing",
        "Text and Documents",
        "Tools and Machinery",
        "Toys and Gaming",
        "Transport and Logistics",
        "Travel and Adventure",
        "Vehicles and Automotive",
        "Weapons and Military",
    }
)


@dataclass(frozen=True)
class LabelInfo:
    name: str
    parents: tuple[str, ...]  # all ancestors, nearest first
    aliases: tuple[str, ...]
    categories: tuple[str, ...]


class Taxonomy:
    """The label of each ImageNet class, and every label's place in the hierarchy."""

    def __init__(self, labels: Mapping[str, LabelInfo], class_labels: Sequence[str]) -> None:
        unknown = sorted({name for name in class_labels if name not in labels})
        if unknown:
            raise ValueError(f"classes answer as labels missing from the label table: {unknown}")
        self._labels = dict(labels)
        self._class_labels = tuple(class_labels)
        classes: dict[str, list[int]] = {}
        for index, name in enumerate(self._class_labels):
            classes.setdefault(name, []).append(index)
        self._classes = {name: tuple(indices) for name, indices in classes.items()}
        self.names: frozenset[str] = frozenset(self._labels)

    @property
    def class_count(self) -> int:
        return len(self._class_labels)

    def for_class(self, index: int) -> LabelInfo:
        """The label ImageNet class `index` answers as."""
        if not 0 <= index < len(self._class_labels):
            raise IndexError(f"no ImageNet class {index}: the classes are 0-{len(self._class_labels) - 1}")
        return self._labels[self._class_labels[index]]

    def label(self, name: str) -> LabelInfo:
        """Any label: a class's, an ancestor, or one outside ImageNet (Person, Face, Head)."""
        try:
            return self._labels[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a label of the local Rekognition taxonomy ({len(self._labels)} labels in "
                f"{DATA / 'labels.tsv'}; names are case-sensitive, e.g. 'Cat')"
            ) from None

    def classes_of(self, name: str) -> tuple[int, ...]:
        """The class indices whose own label is `name` (empty for a label that is only an ancestor)."""
        self.label(name)  # unknown names fail loudly
        return self._classes.get(name, ())


@functools.cache
def load() -> Taxonomy:
    """The taxonomy of the committed tables in ``data/`` (read once per process)."""
    labels = {}
    for name, parents, aliases, categories in _rows(DATA / "labels.tsv", ("name", "parents", "aliases", "categories")):
        labels[name] = LabelInfo(name, _split(parents), _split(aliases), _split(categories))
    class_labels = []
    for index, (number, _wnid, _raw, label) in enumerate(
        _rows(DATA / "imagenet_labels.tsv", ("index", "wnid", "raw_name", "label"))
    ):
        if int(number) != index:
            raise ValueError(f"imagenet_labels.tsv: row {index} is for class {number}; regenerate it")
        class_labels.append(label)
    return Taxonomy(labels, class_labels)


def _rows(path: Path, header: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The data rows of a generated table: '#' comments skipped, the header checked."""
    lines = (line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    first = next(lines, None)
    if first is None or tuple(first.split("\t")) != header:
        raise ValueError(f"{path}: expected the header {header}, found {first!r}; regenerate with make_labels.py")
    for line in lines:
        cells = tuple(line.split("\t"))
        if len(cells) != len(header):
            raise ValueError(f"{path}: {len(cells)} columns, expected {len(header)}: {line!r}")
        yield cells


def _split(field: str) -> tuple[str, ...]:
    return tuple(part for part in field.split(";") if part)
