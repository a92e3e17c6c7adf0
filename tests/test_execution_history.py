"""The states an execution ran, read from its GetExecutionHistory events.

The histories under fixtures/histories/ are real GetExecutionHistory answers from the local
cloud (remade by fixtures/histories/regenerate.py), so no server is needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.execution_history import StateRun, states_run, status_text

FIXTURES = Path(__file__).parent / "fixtures" / "histories"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


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


@pytest.mark.parametrize("runs, text", [
    ([], "not run"),
    ([StateRun("A", "Task", "succeeded")], "succeeded"),
    ([StateRun("A", "Task", "caught", error="Boom", attempts=3)], "caught Boom after 3 attempts"),
    ([StateRun("A", "Pass", "succeeded"), StateRun("A", "Pass", "failed", error="X")], "ran 2×, last failed X"),
])
def test_status_text_tells_the_last_run_and_how_often(runs, text):
    assert status_text(runs) == text
