"""Which warm environment gives way when the local cloud is at its environment limit (issue 12, point 3)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from localcloud.awslambda.pool import Pool


@dataclass(eq=False)  # hashable by identity, as the pool's environments are
class FakeEnvironment:
    spec: SimpleNamespace
    last_used: float


def env(function: str, last_used: float) -> FakeEnvironment:
    return FakeEnvironment(SimpleNamespace(arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
                                           version="$LATEST"), last_used)


def slot(function: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST"


def test_the_function_with_the_most_environments_gives_up_its_least_recently_used():
    only = env("label-detector", last_used=1.0)  # the oldest of all, but its function's only one
    crowd = [env("api-receiver", last_used=t) for t in (5.0, 3.0, 7.0)]
    pool = Pool(idle={slot("label-detector"): [only], slot("api-receiver"): list(crowd)},
                 busy={env("api-receiver", last_used=9.0)})
    assert pool._victim() is crowd[1]
    assert pool.idle[slot("api-receiver")] == [crowd[0], crowd[2]]
    assert pool.idle[slot("label-detector")] == [only]


def test_busy_environments_count_towards_a_functions_share():
    idle_a = env("a", last_used=2.0)
    idle_b = env("b", last_used=1.0)
    pool = Pool(idle={slot("a"): [idle_a], slot("b"): [idle_b]},
                 busy={env("a", last_used=3.0), env("a", last_used=4.0)})
    assert pool._victim() is idle_a


def test_nothing_idle_gives_nothing():
    assert Pool(busy={env("a", last_used=1.0)})._victim() is None
