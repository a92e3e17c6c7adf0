"""The state machine's picture, the states an execution ran, and their table.

The histories under fixtures/histories/ are real GetExecutionHistory answers from the local
cloud (remade by fixtures/histories/regenerate.py), so no server is needed here.
"""

from __future__ import annotations

import base64
import colorsys
import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.statemachine_view import StateRun, graph, runs_table, states_run

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


# --- states_run ------------------------------------------------------------------------------


def summary(runs: list[StateRun]) -> list[tuple]:
    return [(run.name, run.type, run.status, run.attempts, run.error) for run in runs]


@pytest.mark.parametrize("scenario, expected", [
    ("pipeline_succeeded", [("StoreImage", "Task", "succeeded", 1, None),
                            ("DetectLabels", "Task", "succeeded", 1, None),
                            ("StoreResult", "Task", "succeeded", 1, None)]),
    ("pipeline_caught", [("StoreImage", "Task", "succeeded", 1, None),
                         ("DetectLabels", "Task", "caught", 1, "InvalidImageFormatException"),
                         ("RecordFailure", "Task", "succeeded", 1, None),
                         ("Failed", "Fail", "failed", 1, "InvalidImageFormatException")]),
    ("pipeline_retried", [("StoreImage", "Task", "succeeded", 1, None),
                          ("DetectLabels", "Task", "succeeded", 2, None),
                          ("StoreResult", "Task", "succeeded", 1, None)]),
    ("choice_pass", [("Measure", "Pass", "succeeded", 1, None), ("Route", "Choice", "succeeded", 1, None),
                     ("Describe", "Pass", "succeeded", 1, None)]),
    ("uncaught_after_retry", [("Check", "Task", "failed", 2, "ImageTooSmall")]),
    ("runtime_error", [("StoreImage", "Task", "failed", 1, "States.Runtime")]),
])
def test_states_run_from_real_histories(scenario, expected):
    assert summary(states_run(fixture(scenario)["events"])) == expected


def test_branches_of_a_parallel_run_inside_it():
    runs = states_run(fixture("parallel_retried")["events"])

    # The branches start together: either may be entered first.
    assert (runs[0].name, runs[-1].name) == ("Fan", "Done")
    assert sorted(summary(runs[1:3])) == [("Keep", "Pass", "succeeded", 1, None),
                                          ("Thumbnail", "Task", "succeeded", 2, None)]
    assert runs[0].output == [{"key": "cat.png"}, {"thumbnail": "thumbs/cat.png"}]


def test_inputs_outputs_and_the_error_that_was_caught():
    caught, recorded, failed = states_run(fixture("pipeline_caught")["events"])[1:]

    assert caught.input["image"]["key"] == f"images/{caught.input['id']}.png"
    assert caught.output["error"]["Error"] == "InvalidImageFormatException"  # Catch's ResultPath
    assert json.loads(caught.cause)["errorMessage"] == "Request has invalid image format"
    assert recorded.input["error"] == caught.output["error"]
    assert failed.output is None and json.loads(failed.cause)["errorType"] == "InvalidImageFormatException"


def test_a_retried_state_keeps_no_error_once_it_succeeds():
    detect = states_run(fixture("pipeline_retried")["events"])[1]
    assert (detect.status, detect.attempts, detect.error, detect.cause) == ("succeeded", 2, None, None)
    assert detect.output["detection"]["labels"][0]["name"] == "Cat"


def test_any_order_and_the_whole_answer_are_accepted():
    events = fixture("pipeline_caught")["events"]
    expected = states_run(events)

    assert states_run(list(reversed(events))) == expected  # reverseOrder=True
    assert states_run({"events": events, "ResponseMetadata": {}}) == expected


def test_a_history_read_mid_execution_shows_the_running_state():
    events = fixture("pipeline_retried")["events"]
    midway = [event for event in events if event["id"] <= 10]  # DetectLabels' first try just failed

    assert summary(states_run(midway)) == [("StoreImage", "Task", "succeeded", 1, None),
                                           ("DetectLabels", "Task", "running", 1, None)]


def test_interleaved_branches_are_told_apart_by_previous_event_id():
    # Two Tasks in parallel branches: their events interleave, so "the state entered last"
    # would give A's failure to B.
    def entered(id_, previous, name):
        return {"id": id_, "previousEventId": previous, "type": "TaskStateEntered",
                "stateEnteredEventDetails": {"name": name, "input": "{}"}}

    def exited(id_, previous, name):
        return {"id": id_, "previousEventId": previous, "type": "TaskStateExited",
                "stateExitedEventDetails": {"name": name, "output": "{}"}}

    events = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {"id": 2, "previousEventId": 0, "type": "ParallelStateEntered",
         "stateEnteredEventDetails": {"name": "P", "input": "{}"}},
        {"id": 3, "previousEventId": 2, "type": "ParallelStateStarted"},
        entered(4, 3, "A"), entered(5, 3, "B"),
        {"id": 6, "previousEventId": 4, "type": "LambdaFunctionScheduled"},
        {"id": 7, "previousEventId": 5, "type": "LambdaFunctionScheduled"},
        {"id": 8, "previousEventId": 6, "type": "LambdaFunctionFailed",
         "lambdaFunctionFailedEventDetails": {"error": "Boom", "cause": "A broke"}},
        {"id": 9, "previousEventId": 7, "type": "LambdaFunctionSucceeded"},
        {"id": 10, "previousEventId": 8, "type": "LambdaFunctionScheduled"},
        exited(11, 9, "B"),
        {"id": 12, "previousEventId": 10, "type": "LambdaFunctionSucceeded"},
        exited(13, 12, "A"),
        {"id": 14, "previousEventId": 13, "type": "ParallelStateSucceeded"},
        {"id": 15, "previousEventId": 13, "type": "ParallelStateExited",
         "stateExitedEventDetails": {"name": "P", "output": "[{}, {}]"}},
        {"id": 16, "previousEventId": 15, "type": "ExecutionSucceeded"},
    ]
    assert summary(states_run(events)) == [("P", "Parallel", "succeeded", 1, None),
                                           ("A", "Task", "succeeded", 2, None),
                                           ("B", "Task", "succeeded", 1, None)]


# --- the table ---------------------------------------------------------------------------------


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
