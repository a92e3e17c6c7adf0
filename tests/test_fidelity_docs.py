"""Each test the fidelity pages cite exists, so a row's evidence cannot silently disappear."""

from __future__ import annotations

import re

import pytest

from tests.support import REPO

PAGES = sorted((REPO / "docs" / "localcloud" / "fidelity").glob("*.md"))
CITED = re.compile(r"`(?:[\w/.]+\.py::)?(test_\w+)(?:\[[^\]]*\])?`")
DEFINED = {match for path in (REPO / "tests").rglob("test_*.py")
           for match in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_cited_test_exists(page):
    cited = set(CITED.findall(page.read_text()))
    assert cited - DEFINED == set(), f"{page.name} cites tests that do not exist"
