"""Step Functions overhead in the local cloud: prints figures, asserts nothing about speed.

For state machines of two and three Task states (each Resource a plain function ARN, each
handler trivial) it prints, over repeated executions:

- execution, start -> SUCCEEDED (p50/p95): from just before the client's StartExecution
  call (so the request itself counts) to the execution's own ``stopDate``. The end is the
  server's timestamp, not the moment a poll noticed it, so the poll interval adds nothing to
  the figure; the client and the server read the same machine clock. The poll waits 20 ms
  before each DescribeExecution, so that polling does not compete with the execution for
  the server's CPU (a notebook polls far less often);
- Lambda time within it: the sum over tasks of LambdaFunctionScheduled -> LambdaFunctionSucceeded
  in the execution history (millisecond timestamps, as on AWS): the signed HTTP Invoke and
  everything Lambda does, as Step Functions sees it;
- overhead per state = (execution - Lambda time) / states: what StartExecution, the
  interpreter, the history and the hand-over between states cost. What Step Functions does
  inside the Lambda window (finding or building its SDK client, signing) counts as Lambda time
  there, so the overhead is also printed against direct calls: (execution - states x warm
  Invoke p50) / states, the warm Invoke timed from this process (boto3, the instance key).

IAM is enforced: the state machine's role may only invoke its functions; each function has
a role trusted by Lambda that may write its logs, like the workbook's.

It starts its own local cloud on a free port with a temporary state folder, and stops it.
Run: .venv/bin/python benchmarks/stepfunctions_bench.py [--executions N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402

from benchmarks import machine  # noqa: E402
from benchmarks.localcloud_bench import percentile  # noqa: E402
from helpers import notebook_runner  # noqa: E402
from localcloud import config  # noqa: E402

HANDLER = "def handler(event, context):\n    return {'steps': event.get('steps', 0) + 1}\n"
POLL_S = 0.02


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def allow(actions: list[str], resources: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resources}]})


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def millis(timestamp: Any) -> float:
    return timestamp.timestamp() * 1000


class Bench:
    def __init__(self, endpoint: str) -> None:
        kwargs = {"endpoint_url": endpoint, "region_name": config.DEFAULT_REGION}
        self.lam = boto3.client("lambda", **kwargs)
        self.sfn = boto3.client("stepfunctions", **kwargs)
        self.iam = boto3.client("iam", **kwargs)
        self.function_role = self.role("bench-function", "lambda.amazonaws.com", allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], ["*"]))

    def role(self, name: str, service: str, policy: str) -> str:
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="bench", PolicyDocument=policy)
        return arn

    def function(self) -> str:
        return self.lam.create_function(
            FunctionName=f"bench-sfn-{uuid.uuid4().hex[:8]}", Runtime="python3.12", Role=self.function_role,
            Handler="app.handler", Code={"ZipFile": package(HANDLER)})["FunctionArn"]

    def machine(self, states: int) -> str:
        arns = [self.function() for _ in range(states)]
        definition: dict[str, Any] = {"StartAt": "Step0", "States": {
            f"Step{i}": {"Type": "Task", "Resource": arn, "Next": f"Step{i + 1}"} for i, arn in enumerate(arns)}}
        last = definition["States"][f"Step{states - 1}"]
        last.pop("Next")
        last["End"] = True
        role = self.role(f"bench-sfn-{states}", "states.amazonaws.com", allow(
            ["lambda:InvokeFunction"], arns + [f"{arn}:*" for arn in arns]))
        return self.sfn.create_state_machine(name=f"bench-{states}-lambdas", roleArn=role,
                                             definition=json.dumps(definition))["stateMachineArn"]

    def execution(self, machine_arn: str, states: int) -> tuple[float, float]:
        """(start -> SUCCEEDED, Lambda time within it), in ms."""
        started_ms = time.time() * 1000
        arn = self.sfn.start_execution(stateMachineArn=machine_arn, input="{}")["executionArn"]
        described = {"status": "RUNNING"}
        while described["status"] == "RUNNING":
            time.sleep(POLL_S)  # first, so no poll competes with the execution's first state for the server
            described = self.sfn.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"]) == {"steps": states}, described["output"]
        events = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        scheduled = [millis(e["timestamp"]) for e in events if e["type"] == "LambdaFunctionScheduled"]
        succeeded = [millis(e["timestamp"]) for e in events if e["type"] == "LambdaFunctionSucceeded"]
        return millis(described["stopDate"]) - started_ms, sum(succeeded) - sum(scheduled)

    def executions(self, states: int, count: int) -> list[tuple[float, float]]:
        machine_arn = self.machine(states)
        self.execution(machine_arn, states)  # warms the functions' environments and the role's credentials
        return [self.execution(machine_arn, states) for _ in range(count)]

    def warm_invoke_ms(self, count: int) -> list[float]:
        name = self.function()
        self.lam.invoke(FunctionName=name, Payload=b"{}")
        times = []
        for _ in range(count):
            started = time.perf_counter()
            self.lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
            times.append((time.perf_counter() - started) * 1000)
        return times


def report(states: int, runs: list[tuple[float, float]], invoke_ms: float) -> None:
    total = [t for t, _ in runs]
    lam = [lam for _, lam in runs]
    overhead = [(t - lam) / states for t, lam in runs]
    print(f"{states} Lambda tasks, n={len(runs)}: execution p50={percentile(total, 0.5):5.1f} ms "
          f"p95={percentile(total, 0.95):5.1f} ms; Lambda time p50={percentile(lam, 0.5):5.1f} ms")
    print(f"  overhead per state p50={percentile(overhead, 0.5):4.1f} ms p95={percentile(overhead, 0.95):4.1f} ms; "
          f"against direct Invokes p50={(percentile(total, 0.5) - states * invoke_ms) / states:4.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=40, help="executions per state machine (default 40)")
    args = parser.parse_args()

    with notebook_runner.fresh_localcloud() as instance:
        os.environ.update(instance.credentials.as_env())  # it answers only its own key
        bench = Bench(instance.endpoint)
        print(f"machine: {machine.describe()}")
        invokes = bench.warm_invoke_ms(args.executions)
        invoke_ms = percentile(invokes, 0.5)
        print(f"warm Lambda Invoke (boto3), n={len(invokes)}: p50={invoke_ms:5.1f} ms "
              f"p95={percentile(invokes, 0.95):5.1f} ms")
        for states in (2, 3):
            report(states, bench.executions(states, args.executions), invoke_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
