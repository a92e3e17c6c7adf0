"""The state machine as a graph: its text, its SVG picture, and how an execution colours it.

The histories under fixtures/histories/ are real GetExecutionHistory answers from the local
cloud (remade by fixtures/histories/regenerate.py), so no server is needed here.
"""

from __future__ import annotations

import colorsys
import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.statemachine_definition import nodes_and_edges
from helpers.statemachine_graph import graph
from helpers.statemachine_layout import lay_out

FIXTURES = Path(__file__).parent / "fixtures" / "histories"
SVG = "{http://www.w3.org/2000/svg}"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(element: ET.Element) -> list[str]:
    return [node.text for node in element.iter(f"{SVG}text")]


def state_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {group.get("data-state"): group for group in root.iter(f"{SVG}g") if group.get("class") == "state"}


def edge_groups(root: ET.Element, kind: str | None = None) -> list[ET.Element]:
    return [group for group in root.iter(f"{SVG}g")
            if (group.get("class") or "").startswith("edge") and kind in (None, group.get("class").split()[1])]


def hue_and_saturation(colour: str) -> tuple[float, float]:
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(red, green, blue)
    return hue * 360, saturation


# --- the graph --------------------------------------------------------------------------------

# The workbook's machine is statemachine/image_pipeline.asl.json, as the fixtures ran it.
LAMBDA_RETRY = ("  retry ×3: Lambda.ServiceException, Lambda.AWSLambdaException, Lambda.SdkClientException, "
                "Lambda.TooManyRequestsException, ThrottlingException, ProvisionedThroughputExceededException, "
                "InternalServerError")
PIPELINE_TEXT = f"""\
Start → StoreImage
StoreImage (Task · Lambda alice-image-uploader)
  → DetectLabels
  catch States.ALL → RecordFailure
{LAMBDA_RETRY}
DetectLabels (Task · Lambda alice-label-detector)
  → StoreResult
  catch States.ALL → RecordFailure
{LAMBDA_RETRY}
StoreResult (Task · Lambda alice-result-store)
  → End
  catch States.ALL → RecordFailure
{LAMBDA_RETRY}
RecordFailure (Task · Lambda alice-result-store)
  → Failed
  catch States.ALL → Failed
{LAMBDA_RETRY}
Failed (Fail)
  → End"""


def test_text_of_the_workbook_machine():
    assert repr(graph(fixture("pipeline_caught")["definition"])) == PIPELINE_TEXT


def test_text_of_the_workbook_machine_after_a_caught_failure():
    run = fixture("pipeline_caught")
    lines = repr(graph(run["definition"], run["events"])).splitlines()

    assert [line for line in lines if not line.startswith(" ")] == [
        "Start → StoreImage",
        "StoreImage (Task · Lambda alice-image-uploader) — succeeded",
        "DetectLabels (Task · Lambda alice-label-detector) — caught InvalidImageFormatException",
        "StoreResult (Task · Lambda alice-result-store) — not run",
        "RecordFailure (Task · Lambda alice-result-store) — succeeded",
        "Failed (Fail) — failed InvalidImageFormatException",
    ]


def test_text_of_a_choice_machine_with_its_execution():
    run = fixture("choice_pass")
    assert repr(graph(run["definition"], run["events"])) == """\
Start → Measure
Measure (Pass) — succeeded
  → Route
Route (Choice) — succeeded
  → Describe if $.measured.count > 2
  → Small (default)
Describe (Pass) — succeeded
  → End
Small (Succeed) — not run
  → End"""


def test_the_happy_path_reads_down_one_column_and_error_handling_sits_right():
    definition = fixture("pipeline_caught")["definition"]
    layout = lay_out(definition["States"], *nodes_and_edges(definition))

    happy = ("StoreImage", "DetectLabels", "StoreResult")
    assert [(layout.rank[name], layout.column[name]) for name in happy] == [(1, 0), (2, 0), (3, 0)]
    assert layout.column["RecordFailure"] == layout.column["Failed"] == 1
    assert not layout.back


def test_svg_is_xml_naming_every_state_and_both_ends():
    definition = fixture("pipeline_succeeded")["definition"]
    root = parse(graph(definition)._repr_svg_())

    assert root.tag == f"{SVG}svg"
    shown = texts(root)
    for name in [*definition["States"], "Start", "End"]:
        assert name in shown
    assert set(state_groups(root)) == set(definition["States"])


def test_catch_edges_are_dashed_and_labelled_with_their_errors():
    root = parse(graph(fixture("pipeline_succeeded")["definition"])._repr_svg_())

    catches = edge_groups(root, "catch")
    assert sorted((group.get("data-from"), group.get("data-to")) for group in catches) == [
        ("DetectLabels", "RecordFailure"), ("RecordFailure", "Failed"), ("StoreImage", "RecordFailure"),
        ("StoreResult", "RecordFailure")]
    for group in catches:
        assert all(path.get("stroke-dasharray") for path in group.iter(f"{SVG}path"))
    for group in edge_groups(root, "next") + edge_groups(root, "end"):
        assert not any(path.get("stroke-dasharray") for path in group.iter(f"{SVG}path"))
    assert texts(root).count("States.ALL") == 4


def test_retry_is_a_note_on_the_task_box():
    groups = state_groups(parse(graph(fixture("pipeline_succeeded")["definition"])._repr_svg_()))

    assert texts(groups["DetectLabels"])[2:] == ["retry ×3: Lambda.ServiceException and 6 more"]
    # All of them where the pointer rests.
    assert "ProvisionedThroughputExceededException" in groups["DetectLabels"].find(f"{SVG}title").text
    assert not any(text.startswith("retry") for text in texts(groups["Failed"]))


@pytest.mark.parametrize("scenario, expected", [
    ("pipeline_caught", {"StoreImage": "succeeded", "DetectLabels": "caught", "StoreResult": "not run",
                         "RecordFailure": "succeeded", "Failed": "failed"}),
    ("pipeline_retried", {"StoreImage": "succeeded", "DetectLabels": "succeeded", "StoreResult": "succeeded",
                          "RecordFailure": "not run", "Failed": "not run"}),
])
def test_states_are_coloured_by_what_happened(scenario, expected):
    run = fixture(scenario)
    groups = state_groups(parse(graph(run["definition"], run["events"])._repr_svg_()))

    assert {name: group.get("data-status") for name, group in groups.items()} == expected
    for name, status in expected.items():
        hue, saturation = hue_and_saturation(groups[name].find(f"{SVG}rect").get("fill"))
        if status == "not run":
            assert saturation < 0.05, name  # grey
        else:
            low, high = {"succeeded": (90, 150), "caught": (25, 45), "failed": (0, 12)}[status]
            assert low <= hue <= high, (name, status, hue)


def test_without_history_no_state_has_a_status():
    root = parse(graph(fixture("pipeline_caught")["definition"])._repr_svg_())
    assert all(group.get("data-status") is None for group in state_groups(root).values())
    assert not any(group.get("class") == "legend" for group in root.iter(f"{SVG}g"))


def test_svg_is_deterministic_and_has_no_ids():
    run = fixture("pipeline_caught")
    first = graph(run["definition"], run["events"])._repr_svg_()
    again = graph(copy.deepcopy(run["definition"]), copy.deepcopy(run["events"]))._repr_svg_()

    assert first == again
    assert not any("id" in element.attrib for element in parse(first).iter())


def test_names_are_escaped():
    name = 'Odd <&> "name"'
    definition = {"StartAt": name, "States": {name: {"Type": "Pass", "Next": "Later"}, "Later": {"Type": "Succeed"}}}
    root = parse(graph(definition)._repr_svg_())

    assert name in texts(root)
    assert name in state_groups(root)


def test_a_loop_goes_back_up_and_a_missing_state_is_drawn():
    definition = {"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Ready?"},
        "Ready?": {"Type": "Choice", "Choices": [{"Variable": "$.ready", "BooleanEquals": True, "Next": "Go"}],
                   "Default": "Wait"},
    }}
    view = graph(definition)
    root = parse(view._repr_svg_())

    loop = next(group for group in edge_groups(root, "default"))
    path = loop.find(f"{SVG}path").get("d").replace("M ", "").split(" L ")
    start_y, end_y = float(path[0].split()[1]), float(path[-1].split()[1])
    assert end_y < start_y
    assert "not defined" in texts(state_groups(root)["Go"])
    assert "Go (not defined)" in repr(view).splitlines()


@pytest.mark.parametrize("rule, text", [
    ({"Variable": "$.size", "NumericLessThanEquals": 5242880}, "$.size <= 5242880"),
    ({"Variable": "$.size", "NumericGreaterThanPath": "$.limit"}, "$.size > $.limit"),
    ({"Variable": "$.type", "StringEquals": "image/png"}, '$.type == "image/png"'),
    ({"Not": {"Variable": "$.labels", "IsPresent": True}}, "not $.labels is present"),
    ({"Or": [{"Variable": "$.a", "BooleanEquals": True}, {"Variable": "$.key", "StringMatches": "*.jpg"}]},
     '($.a == true or $.key matches "*.jpg")'),
    ({"Condition": "{% $states.input.count > 2 %}"}, "$states.input.count > 2"),
])
def test_choice_rules_read_as_conditions(rule, text):
    definition = {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{**rule, "Next": "D"}],
                                                   "Default": "D"}, "D": {"Type": "Succeed"}}}
    assert f"  → D if {text}" in repr(graph(definition)).splitlines()


def test_the_definition_may_be_json_text_and_must_be_a_definition():
    definition = fixture("choice_pass")["definition"]
    assert repr(graph(json.dumps(definition))) == repr(graph(definition))
    with pytest.raises(ValueError, match="StartAt and States"):
        graph({"States": {}})
