"""The moto internals the local cloud hooks into still have the shape it was written against."""

from __future__ import annotations

import pytest

from localcloud import hooks


def _load_every_hook() -> None:
    # Importing the service packages registers their hooks, as the server's start does.
    from localcloud import apigateway, awslambda, rekognition, s3, stepfunctions  # noqa: F401
    from localcloud.awslambda import limits, logs, runtime  # noqa: F401

    for package in (apigateway, awslambda, rekognition, s3, stepfunctions):
        for name in getattr(package, "HOOK_MODULES", ()):
            __import__(f"{package.__name__}.{name}")


def test_every_hooked_moto_internal_still_fits():
    _load_every_hook()
    assert len(hooks.REGISTRY) >= 5
    assert hooks.problems() == []


def test_a_changed_signature_is_reported_by_name():
    hook = hooks.Hook("moto.awslambda.models", "LambdaFunction.invoke", ("self", "payload"), "a test")
    problem = hook.problem()
    assert problem is not None
    assert "moto.awslambda.models.LambdaFunction.invoke now takes" in problem and "expected ('self', 'payload')" in problem
    with pytest.raises(hooks.MotoShapeChanged, match="needed because a test"):
        hooks.patch(hook, lambda *args: None)


def test_the_s3_hooks_are_registered_and_fit():
    from localcloud import s3

    names = {f"{hook.module}.{hook.attribute}" for hook in hooks.REGISTRY}
    assert {"moto.s3.responses.S3Response._bucket_response_post", "moto.s3.models.FakeMultipart.__init__",
            "moto.s3.models.S3Backend.put_object"} <= names
    assert s3.POST_HANDLER.problem() is None and s3.MULTIPART_INIT.problem() is None


def test_a_vanished_attribute_is_reported():
    hook = hooks.Hook("moto.awslambda.models", "LambdaFunction.no_such_method", None, "a test")
    assert "is gone" in hook.problem()


def test_server_start_checks_every_hook(localcloud):
    # The running server installed all hooks, which refuses to start on any problem;
    # its health answering means none was found.
    import requests

    assert requests.get(f"{localcloud}/_localcloud/health", timeout=5).json()["service"] == "localcloud"
