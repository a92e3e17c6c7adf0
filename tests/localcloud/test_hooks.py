"""The moto internals the local cloud hooks into still have the shape it was written against."""

from __future__ import annotations

import sys
import types

import pytest

from localcloud import hooks, server


def test_every_hooked_moto_internal_still_fits():
    entries = server.moto_hooks()
    assert len(entries) >= 60
    assert hooks.problems(entries) == []


def test_every_service_lists_its_hooks_and_the_server_collects_each_list():
    from localcloud import apigateway, awslambda, lazy_imports, rekognition, s3, stepfunctions

    collected = server.moto_hooks()
    for owner in (lazy_imports, awslambda, stepfunctions, apigateway, rekognition, s3):
        assert owner.HOOKS and all(isinstance(entry, hooks.Entry) for entry in owner.HOOKS), owner.__name__
        assert all(any(entry is listed for listed in collected) for entry in owner.HOOKS), owner.__name__
    targets = [f"{entry.hook.module}.{entry.hook.attribute}" for entry in collected if entry.build is not None]
    assert len(targets) == len(set(targets)), "a moto attribute replaced twice"


def test_the_s3_hooks_are_listed_and_fit():
    from localcloud import s3

    names = {f"{entry.hook.module}.{entry.hook.attribute}" for entry in s3.HOOKS}
    assert {"moto.s3.responses.S3Response._bucket_response_post", "moto.s3.models.FakeMultipart.__init__",
            "moto.s3.models.S3Backend.put_object"} <= names
    assert s3.POST_HANDLER.problem() is None and s3.MULTIPART_INIT.problem() is None


def test_a_changed_signature_is_reported_by_name_and_nothing_is_replaced():
    from moto.awslambda.models import LambdaFunction

    before = LambdaFunction.invoke
    hook = hooks.Hook("moto.awslambda.models", "LambdaFunction.invoke", ("self", "payload"), "a test")
    problem = hook.problem()
    assert problem is not None
    assert "moto.awslambda.models.LambdaFunction.invoke now takes" in problem
    assert "expected ('self', 'payload')" in problem
    with pytest.raises(hooks.MotoShapeChanged, match="needed because a test"):
        hooks.install([hooks.replace(hook, lambda *args: None)])
    assert LambdaFunction.invoke is before


def test_a_vanished_attribute_is_reported():
    hook = hooks.Hook("moto.awslambda.models", "LambdaFunction.no_such_method", None, "a test")
    assert "is gone" in hook.problem()


def _fake_moto(monkeypatch: pytest.MonkeyPatch, name: str = "fake_moto_for_hooks") -> hooks.Hook:
    """A module standing for moto, with one function to hook."""
    module = types.ModuleType(name)

    def greet(name: str) -> str:
        return f"hello {name}"

    module.greet = greet  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, name, module)
    return hooks.Hook(module.__name__, "greet", ("name",), "a test")


def test_a_wrapper_gets_moto_own_function_and_installing_again_wraps_it_again_not_the_wrapper(monkeypatch):
    hook = _fake_moto(monkeypatch)
    _, _, moto_own = hook.resolve()

    def shouting(original):
        return lambda name: original(name).upper()

    for _ in range(2):
        hooks.install([hooks.wrap(hook, shouting)])
        _, _, installed = hook.resolve()
        assert installed("ann") == "HELLO ANN"
        assert hooks.original(installed) is moto_own
    assert hook.problem() is None  # the signature is read from moto's own, not the wrapper's


def test_one_replacement_cannot_stand_for_two_originals(monkeypatch):
    first, second = _fake_moto(monkeypatch), _fake_moto(monkeypatch, "other_fake_moto_for_hooks")
    _, _, second_own = second.resolve()

    def replacement(name: str) -> str:
        return name

    hooks.install([hooks.replace(first, replacement)])
    with pytest.raises(ValueError, match="already stands for another original"):
        hooks.install([hooks.replace(second, replacement)])
    assert second.resolve()[2] is second_own


def test_server_start_checks_every_hook(localcloud):
    # The running server installed all hooks, which refuses to start on any problem;
    # its health answering means none was found.
    import requests

    assert requests.get(f"{localcloud}/_localcloud/health", timeout=5).json()["service"] == "localcloud"
