"""The table of the states an execution ran: text for tests, HTML for a notebook."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from helpers.execution_history import StateRun, states_run
from helpers.runs_table import runs_table, short

FIXTURES = Path(__file__).parent / "fixtures" / "histories"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_short_keeps_a_value_readable():
    assert short(None) == "—"
    assert short({"id": "x" * 30}) == '{"id": "' + "x" * 19 + '…"}'  # a long string gives way first
    assert short(list(range(100)), limit=10) == "[0, 1, 2,…"


def test_table_text_of_a_short_execution():
    assert repr(runs_table(states_run(fixture("choice_pass")["events"]))) == """\
state     status     attempts  input → output
Measure   succeeded         1  {"sizes": [10, 2048, 300]} → {"sizes": [10, 2048, 300], "measured": {"count": 3}}
Route     succeeded         1  {"sizes": [10, 2048, 300], "measured": {"count": 3}} → {"sizes": [10, 2048, 300], \
"measured": {"count": 3}}
Describe  succeeded         1  {"sizes": [10, 2048, 300], "measured": {"count": 3}} → {"route": "big"}"""


def test_table_shortens_long_values_and_shows_errors():
    image = base64.b64encode(bytes(range(256)) * 8).decode()
    runs = [StateRun("Upload", "Task", "caught", input={"image_base64": image, "content_type": "image/png"},
                     output={"error": {"Error": "TooLarge"}}, error="TooLarge",
                     cause=json.dumps({"errorMessage": "x" * 200, "errorType": "TooLarge"}), attempts=3)]
    table = runs_table(runs)
    header, row = table.rows()

    assert header == ("state", "status", "attempts", "input → output", "error")
    shown_input, shown_output = row[3].split(" → ")
    assert shown_input == '{"image_base64": "AAECAwQFBgcICQoLDA0…", "content_type": "i…'
    assert len(shown_input) == 60 and shown_output == '{"error": {"Error": "TooLarge"}}'
    assert row[4] == ("TooLarge: " + "x" * 200)[:59] + "…"
    assert repr(table).splitlines()[1] == (
        'Upload  caught         3  {"image_base64": "AAECAwQFBgcICQoLDA0…", "content_type": "i… → '
        '{"error": {"Error": "TooLarge"}}  TooLarge: ' + "x" * 49 + "…")


def test_table_html_escapes_and_colours_status():
    runs = [StateRun("<b>", "Pass", "succeeded", input={"a": "<script>"}, output=None)]
    page = runs_table(runs)._repr_html_()

    assert "<td>&lt;b&gt;</td>" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert 'style="background:#' in page
    root = ET.fromstring(page)  # well-formed too
    assert [cell.text for cell in root.iter("th")][:3] == ["state", "status", "attempts"]
