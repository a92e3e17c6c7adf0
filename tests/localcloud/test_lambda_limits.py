"""Lambda's package limits and reserved concurrency, held locally as Lambda holds them (issue 9, point 4)."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localcloud import config
from localcloud.awslambda import limits, packages
from tests.localcloud.conftest import wait_until
from tests.localcloud.lambdas import SLEEPER, deploy, make_zip, role_arn
from tests.support import unique

NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
HANDLER = "def handler(event, context):\n    return {'version': VERSION}\n"


def sparse_zip(files: dict[str, int], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of files of zeros of the given sizes, written in pieces (a 300 MB file costs no 300 MB)."""
    buffer = io.BytesIO()
    piece = b"\0" * (1 << 20)
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, size in files.items():
            with archive.open(name, "w", force_zip64=size > 2**31) as member:
                left = size
                while left:
                    member.write(piece[: min(left, len(piece))])
                    left -= min(left, len(piece))
    return buffer.getvalue()


def refused(call, code: str, message: str, status: int = 400) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), error
    assert error["Error"]["Message"] == message


def create(lam, iam, zip_bytes: bytes, **kwargs):
    return lam.create_function(FunctionName=unique("fn"), Runtime="python3.12", Role=role_arn(iam),
                               Handler="app.handler", Code={"ZipFile": zip_bytes}, **kwargs)


def test_a_package_that_is_not_a_zip_is_refused_at_create_update_and_publish(lam, iam):
    refused(lambda: create(lam, iam, b"def handler(event, context): pass\n"), "InvalidParameterValueException",
            NOT_A_ZIP)
    refused(lambda: lam.publish_layer_version(LayerName=unique("layer"), Content={"ZipFile": b"nope"}),
            "InvalidParameterValueException", NOT_A_ZIP)
    name = deploy(lam, iam, "VERSION = 1\n" + HANDLER)
    refused(lambda: lam.update_function_code(FunctionName=name, ZipFile=b"PK\x03\x04 truncated"),
            "InvalidParameterValueException", NOT_A_ZIP)
    # A refused update leaves the function as it was: same code, still runs.
    result = lam.invoke(FunctionName=name)
    assert "FunctionError" not in result and json.loads(result["Payload"].read()) == {"version": 1}


def test_entries_outside_the_package_are_refused(lam, iam):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
        archive.writestr("../escape.py", "print('out')\n")
    refused(lambda: create(lam, iam, buffer.getvalue()), "InvalidParameterValueException", NOT_A_ZIP)


def test_a_zip_bomb_is_refused_before_anything_is_written(lam, iam):
    bomb = sparse_zip({"app.py": 10, "padding.bin": 512 * 1024 * 1024})
    assert len(bomb) < 1024 * 1024  # the bomb: ~0.5 MB holding 512 MiB
    refused(lambda: create(lam, iam, bomb), "InvalidParameterValueException",
            "Unzipped size must be smaller than 262144000 bytes")
    refused(lambda: lam.publish_layer_version(LayerName=unique("layer"), Content={"ZipFile": bomb}),
            "InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes")


def test_code_and_layers_together_are_held_to_250_mb(lam, iam):
    layer = lam.publish_layer_version(LayerName=unique("layer"),
                                      Content={"ZipFile": sparse_zip({"python/big.bin": 150_000_000})})
    code = sparse_zip({"app.py": 0, "data.bin": 120_000_000})
    refused(lambda: create(lam, iam, code, Layers=[layer["LayerVersionArn"]]), "InvalidParameterValueException",
            "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. "
            "The actual size is 270000000 bytes.")
    create(lam, iam, sparse_zip({"app.py": 0, "data.bin": 100_000_000}), Layers=[layer["LayerVersionArn"]])


def test_a_zip_over_50_mb_is_request_entity_too_large(lam, iam):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", HANDLER)
        archive.writestr("noise.bin", os.urandom(52428800))  # incompressible: the zip is just over 50 MB
    refused(lambda: create(lam, iam, buffer.getvalue()), "RequestEntityTooLargeException",
            "Zipped size must be smaller than 52428800 bytes", 413)


def test_a_request_over_lambdas_limit_is_answered_before_its_body_is_read():
    class Unread(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

    answered = []
    environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/2015-03-31/functions/f/code",
               "CONTENT_LENGTH": str(limits.MAX_REQUEST_BYTES + 1), "wsgi.input": Unread()}
    body = limits.check_request(environ, lambda status, headers: answered.append((status, dict(headers))))
    assert answered[0][0].startswith("413") and answered[0][1]["x-amzn-ErrorType"] == "RequestEntityTooLargeException"
    assert json.loads(b"".join(body)) == {
        "__type": "RequestEntityTooLargeException",
        "message": "Request must be smaller than 70167211 bytes for the UpdateFunctionCode operation"}
    environ.update(CONTENT_LENGTH=str(limits.MAX_REQUEST_BYTES))
    assert limits.check_request(environ, None) is None
    environ.update(PATH_INFO="/2015-03-31/functions/f/configuration", CONTENT_LENGTH="999999999")
    assert limits.check_request(environ, None) is None  # not an upload: not this check's business


def cache_dir(endpoint: str) -> Path:
    return config.instance_dir(int(endpoint.rsplit(":", 1)[1])) / "lambda"


def test_unpacked_code_goes_with_the_last_function_that_uses_it(lam, iam, localcloud):
    package = make_zip({"app.py": f"# {uuid.uuid4()}\nVERSION = 2\n" + HANDLER})  # one zip, byte for byte
    first, second = (create(lam, iam, package)["FunctionName"] for _ in range(2))
    for name in (first, second):
        assert "FunctionError" not in lam.invoke(FunctionName=name)
    folder = cache_dir(localcloud) / "code" / packages.code_key(package)
    assert folder.is_dir()
    lam.delete_function(FunctionName=first)
    assert folder.is_dir()  # the second function still uses it
    lam.delete_function(FunctionName=second)
    assert wait_until(lambda: not folder.exists()), "the unpacked code outlived its functions"


def test_reserved_concurrency_throttles_as_lambda_does(lam, iam):
    name = deploy(lam, iam, SLEEPER, Timeout=30)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded" and error["Type"] == "User"

    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    slow = threading.Thread(target=lam.invoke, kwargs={"FunctionName": name, "Payload": b'{"sleep": 3}'})
    slow.start()
    time.sleep(1.5)  # the slow one holds the only slot (its cold start included)
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    slow.join()
    assert isinstance(json.loads(lam.invoke(FunctionName=name)["Payload"].read()), int)  # SLEEPER's pid
    lam.delete_function_concurrency(FunctionName=name)
