"""helpers.excerpts: the names a notebook explains of a deployed module, read from the file as it is."""

import pytest

from helpers import excerpts

MODULE = '''"""limits: a module to take excerpts of."""

from dataclasses import dataclass

# Why the limit is what it is.
LIMIT = 10  # per request
OTHER = 2
TABLE = {
    "a": 1,
}


@dataclass(frozen=True)
class Item:
    """One item."""

    number: int  # from 1
    name: str

    def label(self) -> str:
        return f"{self.number} {self.name}"


def check(data: bytes,
          limit: int = LIMIT) -> int:
    """How many; else ValueError."""
    if len(data) > limit:
        raise ValueError("too many")
    return len(data)


def plain(x):
    return x
'''


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "limits.py").write_text(MODULE, encoding="utf-8")
    return tmp_path


def test_constants_keep_their_comments_and_functions_show_signature_and_docstring_only(folder):
    assert excerpts.of("limits", "LIMIT", "OTHER", "check", folder=folder).splitlines() == [
        "# functions/limits.py (excerpt)",
        "",
        "# Why the limit is what it is.",
        "LIMIT = 10  # per request",
        "OTHER = 2",
        "",
        "def check(data: bytes,",
        "          limit: int = LIMIT) -> int:",
        '    """How many; else ValueError."""',
        "    ...",
    ]


def test_a_class_keeps_its_decorator_and_fields_and_names_come_in_the_order_asked(folder):
    assert excerpts.of("limits", "Item", "TABLE", "plain", folder=folder).splitlines() == [
        "# functions/limits.py (excerpt)",
        "",
        "@dataclass(frozen=True)",
        "class Item:",
        '    """One item."""',
        "    number: int  # from 1",
        "    name: str",
        "    ...",
        "",
        "TABLE = {",
        '    "a": 1,',
        "}",
        "",
        "def plain(x):",
        "    ...",
    ]


def test_a_name_the_module_lacks_is_a_lookup_error_naming_the_file(folder):
    with pytest.raises(LookupError, match=r"limits\.py defines no MISSING, helper at its top level"):
        excerpts.of("limits", "LIMIT", "MISSING", "helper", folder=folder)


def test_a_provided_module_is_read_when_none_is_written(tmp_path):
    shown = excerpts.of("image_checks", "MIN_SIDE", "check", folder=tmp_path)
    assert shown.startswith("# provided/image_checks.py (excerpt)\n")
    assert "MIN_SIDE = 80" in shown and "def check(data: bytes, content_type: str" in shown
    assert "detect_format(data)" not in shown  # the body is left out


def test_a_module_that_is_nowhere_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.py"):
        excerpts.of("nowhere", "X", folder=tmp_path)
