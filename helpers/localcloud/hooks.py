"""The one place where the local cloud reaches into moto.

Every replacement of a moto function goes through :func:`patch`, which first checks that
the target still has the parameters we were written against. When a moto upgrade changes
one of them, the server refuses to start with a message naming the hook, instead of
emulating the wrong thing quietly; ``tests/localcloud/test_hooks.py`` checks the same.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class MotoShapeChanged(RuntimeError):
    """A moto internal the local cloud hooks into no longer looks as expected."""


@dataclass(frozen=True)
class Hook:
    """A moto attribute we replace (or call), and the parameters we rely on."""

    module: str
    attribute: str  # "name" or "Class.method"
    params: tuple[str, ...] | None  # None: not callable, or we only need it to exist
    why: str

    def resolve(self) -> tuple[Any, str, Any]:
        owner: Any = importlib.import_module(self.module)
        *path, name = self.attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        return owner, name, getattr(owner, name)

    def problem(self) -> str | None:
        """What changed in moto, or None when the hook still fits."""
        try:
            _, _, target = self.resolve()
        except (ImportError, AttributeError) as exc:
            return f"{self.module}.{self.attribute} is gone ({exc}); needed because {self.why}"
        if self.params is None:
            return None
        original = getattr(target, "__localcloud_original__", target)
        actual = tuple(inspect.signature(original).parameters)
        if actual != self.params:
            return (
                f"{self.module}.{self.attribute} now takes {actual}, expected {self.params}; "
                f"needed because {self.why}"
            )
        return None


REGISTRY: list[Hook] = []


def register(hook: Hook) -> Hook:
    REGISTRY.append(hook)
    return hook


def patch(hook: Hook, replacement: Callable[..., Any]) -> Callable[..., Any]:
    """Replace the hooked attribute; returns the original. Idempotent."""
    problem = hook.problem()
    if problem:
        raise MotoShapeChanged(problem)
    owner, name, original = hook.resolve()
    original = getattr(original, "__localcloud_original__", original)
    replacement.__localcloud_original__ = original  # type: ignore[attr-defined]
    setattr(owner, name, replacement)
    return original


def wrap(hook: Hook, make_replacement: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace the hooked function by ``make_replacement(original)``, for replacements that
    call moto's own code around their change; idempotent like :func:`patch`."""
    _, _, current = hook.resolve()
    patch(hook, make_replacement(getattr(current, "__localcloud_original__", current)))


def problems() -> list[str]:
    return [p for p in (hook.problem() for hook in REGISTRY) if p]


def configure_moto() -> None:
    from moto.core.config import default_user_config

    # moto's own ASL interpreter runs executions. Lambda's use_docker stays at its default:
    # turning it off would swap in moto's canned "simple" backend, and the runtime hook
    # already keeps every invocation away from Docker.
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    # moto's server answers every origin with CORS headers (flask-cors); S3 sends them only when
    # a bucket's own CORS configuration asks for it, and no other API the workbook uses does.
    import moto.moto_server.werkzeug_app as werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True


def install(port: int, access_key_id: str, secret_access_key: str) -> None:
    """Configure moto and install every service's hooks (called once by the server)."""
    from . import apigateway, awslambda, rekognition, s3, stepfunctions

    configure_moto()
    awslambda.install(port)
    stepfunctions.install(access_key_id, secret_access_key)
    apigateway.install()
    rekognition.install()
    s3.install()
    found = problems()
    if found:
        raise MotoShapeChanged("; ".join(found))
