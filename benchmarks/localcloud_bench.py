"""Benchmark of the embedded local cloud: prints figures, asserts nothing about speed.

Measures, on the machine it runs on:
- Lambda invoke latency, cold (a new execution environment) and warm (a reused one); the cold
  start of handlers that import boto3 (and make a client) at module level, with the Init
  Duration their REPORT line gives;
- REST API -> Lambda (AWS_PROXY) requests per second and latency, with concurrent clients.

Step Functions executions are measured by ``stepfunctions_bench.py`` (``make bench`` runs both).
It starts its own local cloud on a free port with a temporary state folder, and stops it.
Run: make bench   (or .venv/bin/python benchmarks/localcloud_bench.py --help)
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import statistics
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import requests  # noqa: E402

from benchmarks import machine  # noqa: E402
from helpers import notebook_runner  # noqa: E402

ROLE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
STEP = "def handler(event, context):\n    return {'steps': event.get('steps', 0) + 1}\n"
# Cold starts of handlers that use boto3, as most do: importing it, and also making a client.
BOTO3_IMPORT = "import boto3\n\ndef handler(event, context):\n    return boto3.__version__\n"
BOTO3_CLIENT = "import boto3\n\nS3 = boto3.client('s3')\n\ndef handler(event, context):\n    return boto3.__version__\n"
PROXY = (
    "import json\n\ndef handler(event, context):\n"
    "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'},\n"
    "            'body': json.dumps({'path': event['path']})}\n"
)


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(label: str, values_ms: list[float]) -> str:
    return (f"{label:<44} n={len(values_ms):<4} p50={percentile(values_ms, 0.5):8.1f} ms  "
            f"p95={percentile(values_ms, 0.95):8.1f} ms  mean={statistics.fmean(values_ms):8.1f} ms")


class Bench:
    def __init__(self, endpoint: str) -> None:
        kwargs = dict(endpoint_url=endpoint, region_name="us-east-1")
        self.endpoint = endpoint
        self.lam = boto3.client("lambda", **kwargs)
        self.api = boto3.client("apigateway", **kwargs)
        self.iam = boto3.client("iam", **kwargs)
        self.role = self.iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=ROLE)["Role"]["Arn"]

    def function(self, name: str, source: str) -> str:
        return self.lam.create_function(FunctionName=name, Runtime="python3.12", Role=self.role,
                                        Handler="app.handler", Code={"ZipFile": package(source)})["FunctionArn"]

    def invoke_ms(self, name: str) -> float:
        started = time.perf_counter()
        response = self.lam.invoke(FunctionName=name, Payload=b"{}")
        response["Payload"].read()
        assert "FunctionError" not in response, response
        return (time.perf_counter() - started) * 1000

    def cold_starts(self, name: str, source: str, count: int) -> tuple[list[float], list[float]]:
        """Invoke latency and the REPORT line's Init Duration of ``count`` cold starts."""
        self.function(name, source)
        invoke_ms, init_ms = [], []
        for i in range(count):
            # A configuration change retires the warm environment: the next call is cold.
            self.lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"ROUND": str(i)}})
            started = time.perf_counter()
            response = self.lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
            response["Payload"].read()
            invoke_ms.append((time.perf_counter() - started) * 1000)
            assert "FunctionError" not in response, response
            tail = base64.b64decode(response["LogResult"]).decode()
            init_ms.append(float(re.search(r"Init Duration: ([0-9.]+) ms", tail).group(1)))
        return invoke_ms, init_ms

    def invokes(self, cold: int, warm: int) -> tuple[list[float], list[float]]:
        cold_ms, _ = self.cold_starts("bench-invoke", STEP, cold)
        self.invoke_ms("bench-invoke")
        return cold_ms, [self.invoke_ms("bench-invoke") for _ in range(warm)]

    def rest_api(self, requests_total: int, clients: int) -> tuple[float, list[float]]:
        arn = self.function("bench-proxy", PROXY)
        api_id = self.api.create_rest_api(name="bench-api")["id"]
        root = self.api.get_resources(restApiId=api_id)["items"][0]["id"]
        resource = self.api.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
        self.api.put_method(restApiId=api_id, resourceId=resource, httpMethod="ANY", authorizationType="NONE")
        self.api.put_integration(
            restApiId=api_id, resourceId=resource, httpMethod="ANY", type="AWS_PROXY", integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations")
        self.api.create_deployment(restApiId=api_id, stageName="bench")
        self.lam.add_permission(FunctionName="bench-proxy", StatementId="apigateway", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*")
        url = f"{self.endpoint}/_aws/execute-api/{api_id}/bench/items/1"
        local = threading.local()

        def get(_: int) -> float:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            started = time.perf_counter()
            response = session.get(url, timeout=30)
            assert response.status_code == 200 and response.json() == {"path": "/items/1"}, response.text
            return (time.perf_counter() - started) * 1000

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(get, range(clients * 2)))  # warm one environment per client
            started = time.perf_counter()
            latencies = list(pool.map(get, range(requests_total)))
            elapsed = time.perf_counter() - started
        return requests_total / elapsed, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=10, help="cold invocations (default 10)")
    parser.add_argument("--warm", type=int, default=100, help="warm invocations (default 100)")
    parser.add_argument("--requests", type=int, default=400, help="REST API requests (default 400)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    args = parser.parse_args()

    with notebook_runner.fresh_localcloud() as instance:
        os.environ.update(instance.credentials.as_env())  # it answers only its own key
        bench = Bench(instance.endpoint)
        print(f"machine: {machine.describe()}")
        cold, warm = bench.invokes(args.cold, args.warm)
        print(summary("Lambda invoke, cold (new environment)", cold))
        for name, source, label in (("bench-boto3", BOTO3_IMPORT, "imports boto3"),
                                    ("bench-client", BOTO3_CLIENT, "imports boto3, makes a client")):
            invoke_ms, init_ms = bench.cold_starts(name, source, args.cold)
            print(summary(f"Lambda invoke, cold, {label}", invoke_ms))
            print(summary("  of which Init Duration", init_ms))
        print(summary("Lambda invoke, warm (reused environment)", warm))
        rps, latencies = bench.rest_api(args.requests, args.clients)
        print(summary(f"REST API -> Lambda proxy, {args.clients} clients", latencies))
        print(f"{'REST API -> Lambda proxy throughput':<44} {rps:.0f} requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
