"""Execution environments are forked from a template that has imported boto3 (issue 12, point 1).

What the handler sees must not change: its own package first (also when it brings its own
boto3), module-level code once per environment, and a working runtime when the template dies
or forking is turned off. How fast a cold start is lives in ``make bench``, not here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from localcloud import process
from localcloud.awslambda import packages, workers
from tests.localcloud.conftest import wait_until
from tests.localcloud.lambdas import deploy
from tests.localcloud.test_lambda_orphans import clients, gone, template_pids, worker_pids
from tests.support import free_port

PARENT = "import os\n\ndef handler(event, context):\n    return {'pid': os.getpid(), 'ppid': os.getppid()}\n"


def invoke(lam, name: str) -> dict:
    response = lam.invoke(FunctionName=name)
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


def test_environments_are_forked_from_the_template(private_localcloud):
    lam, iam = clients(private_localcloud)
    first, second = (deploy(lam, iam, PARENT) for _ in range(2))
    answers = [invoke(lam, first), invoke(lam, second)]
    [template] = template_pids(private_localcloud.port)
    assert {a["ppid"] for a in answers} == {template}
    assert {a["pid"] for a in answers} == set(worker_pids(private_localcloud.port))


def test_a_package_with_its_own_boto3_imports_it_not_the_preloaded_one(lam, iam):
    source = ("import sys\nPRELOADED = sorted({'botocore', 'urllib3'} & set(sys.modules))\nimport boto3\n\n"
              "def handler(event, context):\n    return [boto3.__version__, PRELOADED]\n")
    name = deploy(lam, iam, source, extra_files={"boto3/__init__.py": "__version__ = 'packaged'\n"})
    # Not only boto3: everything the template preloaded is forgotten, so it imports in Lambda's order.
    assert invoke(lam, name) == ["packaged", []]
    plain = deploy(lam, iam, source)
    assert invoke(lam, plain)[0] != "packaged"


def test_a_handler_module_named_like_the_runtime_is_the_functions_own(lam, iam):
    name = deploy(lam, iam, "", handler="bootstrap.handler",
                  extra_files={"bootstrap.py": "def handler(event, context):\n    return 'mine'\n"})
    assert invoke(lam, name) == "mine"


def test_a_killed_template_is_replaced_and_its_environments_start_afresh(private_localcloud):
    lam, iam = clients(private_localcloud)
    name = deploy(lam, iam, PARENT)
    before = invoke(lam, name)
    [template] = template_pids(private_localcloud.port)
    os.kill(template, signal.SIGKILL)
    # Its environments die with it (the kernel's parent-death signal).
    assert wait_until(lambda: gone(template) and gone(before["pid"]), 5.0)
    after = invoke(lam, name)
    assert after["pid"] != before["pid"]
    assert after["ppid"] == template_pids(private_localcloud.port)[0] != template


@pytest.fixture
def unforked_localcloud(monkeypatch, localcloud):
    monkeypatch.setenv("LOCALCLOUD_LAMBDA_FORK", "0")
    port = free_port()
    instance = process.start(port)
    yield instance
    process.stop(port)


def test_without_forking_each_environment_is_a_new_process_of_the_server(unforked_localcloud):
    lam, iam = clients(unforked_localcloud)
    name = deploy(lam, iam, PARENT)
    answer = invoke(lam, name)
    assert answer["ppid"] == unforked_localcloud.pid
    assert template_pids(unforked_localcloud.port) == []


PREPARSE_CHECK = """
import gzip, json, sys
sys.path.insert(0, sys.argv[1])
import template
template._preload(sys.argv[2])
from botocore import loaders
path = sys.argv[3]
preparsed = path in template.PARSED
first, second = loaders.JSONFileLoader().load_file(path), loaders.JSONFileLoader().load_file(path)
with gzip.open(path + ".json.gz") as f:
    on_disk = json.load(f)
print(json.dumps({"preparsed": preparsed, "left": path in template.PARSED, "equal": first == second == on_disk,
                  "same": first is second}))
"""


def test_preparsed_service_models_are_handed_out_once_and_equal_the_files(tmp_path):
    runtime = packages.runtime_dir(tmp_path)
    # As an environment sees it: botocore through the runtime folder's link.
    model = sorted((runtime / "botocore" / "data" / "s3").glob("*/service-2.json.gz"))[-1]
    result = subprocess.run([sys.executable, "-I", "-S", "-c", PREPARSE_CHECK, str(workers.TEMPLATE.parent),
                             str(runtime), str(model).removesuffix(".json.gz")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # Parsed by the template, handed out once, equal to the file; a second load is a new object,
    # since botocore may change what it loaded.
    assert json.loads(result.stdout) == {"preparsed": True, "left": False, "equal": True, "same": False}
