"""A function is held to its MemorySize as Lambda holds it (issue 9, point 6)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.localcloud.lambdas import deploy

# Allocates (and touches) 8 MB at a time up to event["mb"]; module code can do the same at init.
GREEDY = """
import os
HELD = []
if os.environ.get("GREEDY_AT_INIT"):
    HELD.extend(b"x" * (8 << 20) for _ in range(int(os.environ["GREEDY_AT_INIT"]) // 8))

def handler(event, context):
    for _ in range(event["mb"] // 8):
        HELD.append(b"x" * (8 << 20))
    held = len(HELD) * 8
    HELD.clear()
    return {"held_mb": held}
"""
KILLED = re.compile(r"^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$")


@pytest.fixture(scope="module")
def greedy(lam, client):
    return deploy(lam, client("iam"), GREEDY, MemorySize=128, Timeout=30)


def invoke(lam, name: str, mb: int):
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"mb": mb}).encode(), LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    return response, json.loads(response["Payload"].read()), tail


def max_memory_used(tail: str) -> int:
    report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
    assert "Memory Size: 128 MB" in report
    return int(re.search(r"Max Memory Used: (\d+) MB", report).group(1))


def test_a_function_within_its_memory_runs_and_reports_its_real_peak(lam, greedy):
    response, payload, tail = invoke(lam, greedy, 48)
    assert "FunctionError" not in response and payload == {"held_mb": 48}
    assert 48 <= max_memory_used(tail) < 128


def test_a_function_over_its_memory_is_killed_as_on_lambda(lam, greedy):
    response, payload, tail = invoke(lam, greedy, 400)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert KILLED.match(payload["errorMessage"]), payload
    request_id = payload["errorMessage"].split()[1]
    used = max_memory_used(tail)
    # Stopped at the limit, not after allocating all 400 MB.
    assert 128 <= used < 200, tail
    assert f"RequestId: {request_id} Error: Runtime exited with error: signal: killed\nRuntime.ExitError" in tail
    # The environment was discarded; the next invocation gets a fresh one and runs.
    response, payload, _ = invoke(lam, greedy, 8)
    assert "FunctionError" not in response and payload == {"held_mb": 8}


def test_init_over_its_memory_is_killed_too(lam, client):
    name = deploy(lam, client("iam"), GREEDY, MemorySize=128, Timeout=30,
                  Environment={"Variables": {"GREEDY_AT_INIT": "400"}})
    response, payload, _ = invoke(lam, name, 0)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError" and KILLED.match(payload["errorMessage"]), payload


def test_more_memory_lets_the_same_work_through(lam, client):
    name = deploy(lam, client("iam"), GREEDY, MemorySize=512, Timeout=30)
    response = lam.invoke(FunctionName=name, Payload=b'{"mb": 200}', LogType="Tail")
    assert "FunctionError" not in response and json.loads(response["Payload"].read()) == {"held_mb": 200}
    report = next(line for line in base64.b64decode(response["LogResult"]).decode().splitlines()
                  if line.startswith("REPORT"))
    assert 200 <= int(re.search(r"Max Memory Used: (\d+) MB", report).group(1)) < 512
