"""An execution environment is retired before its role's credentials expire (issue 11: credentials
renewed as needed): the pool replaces a warm environment older than MAX_ENVIRONMENT_AGE_S."""

from __future__ import annotations

from types import SimpleNamespace

from localcloud.awslambda import pool as warm_pool


class FakeEnvironment:
    def __init__(self, spec, started: float) -> None:
        self.spec, self.started, self.alive, self.killed = spec, started, True, False
        self.last_used = started

    def kill(self) -> None:
        self.killed = True


def test_a_warm_environment_is_reused_until_it_is_too_old(monkeypatch):
    spec = SimpleNamespace(arn="arn:aws:lambda:us-east-1:123456789012:function:f", version="$LATEST", key="k")
    clock = [1000.0]
    monkeypatch.setattr(warm_pool.time, "monotonic", lambda: clock[0])
    pool = warm_pool.Pool()
    first, cold = pool.acquire(spec, lambda: FakeEnvironment(spec, clock[0]))
    assert cold
    pool.release(first, reusable=True)
    clock[0] += warm_pool.MAX_ENVIRONMENT_AGE_S - 60
    again, cold = pool.acquire(spec, lambda: FakeEnvironment(spec, clock[0]))
    assert (again, cold) == (first, False)
    pool.release(again, reusable=True)
    clock[0] += 120  # now older than the limit: a new environment, with fresh credentials
    newer, cold = pool.acquire(spec, lambda: FakeEnvironment(spec, clock[0]))
    assert cold and newer is not first
    assert pool.live == 1
