"""The one place where the local cloud reaches into moto.

Every replacement of a moto function goes through :func:`patch`, which first checks that
the target still has the parameters we were written against. When a moto upgrade changes
one of them, the server refuses to start with a message naming the hook, instead of
emulating the wrong thing quietly; ``tests/localcloud/test_hooks.py`` checks the same.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import threading
import types
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


# Packages whose ``__init__`` waits until one of its own names is used. moto's Step Functions
# interpreter imports ``moto.batch.utils`` for one enum, and ``moto/batch/__init__.py`` loads
# Batch's backend, which loads EC2's and ECS's: instance types and offerings of every region
# and EC2's API model, ~100 MB that stay in the server while the workbook never calls them.
DEFERRED_PACKAGES = ("moto.batch",)


def defer_package_init(name: str) -> bool:
    """Import ``name``'s submodules without running its ``__init__``; that runs (once, under a
    lock) when one of the package's own attributes is first looked up, such as moto's
    ``batch_backends`` when a Batch request arrives. False when the package is already imported."""
    if name in sys.modules:
        return False
    parent, _, child = name.rpartition(".")
    owner = importlib.import_module(parent)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    module = importlib.util.module_from_spec(spec)  # __path__ is set: submodules import as usual
    lock = threading.RLock()

    def __getattr__(attribute: str) -> Any:  # noqa: N807 - PEP 562: called for names not yet defined
        with lock:
            if vars(module).get("__getattr__") is __getattr__:
                del module.__getattr__
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    module.__getattr__ = __getattr__  # the next use tries again, as a failed import would
                    raise
        try:
            return vars(module)[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    module.__getattr__ = __getattr__
    sys.modules[name] = module
    setattr(owner, child, module)
    return True


OPENAPI_VALIDATE = register(
    Hook("moto.apigateway.models", "validate", None,
         "ImportRestApi/PutRestApi validate the document with openapi_spec_validator, loaded on that first call")
)
OPENAPI_ERROR = register(
    Hook("moto.apigateway.models", "OpenAPIValidationError", None,
         "ImportRestApi/PutRestApi catch it by the module's name, rebound on that first call")
)
# What moto.apigateway.models imports from openapi_spec_validator at its top, only for
# ImportRestApi/PutRestApi with failOnWarnings: importing it costs ~32 MB (jsonschema's format
# checkers build an RFC 3987 grammar, pydantic settings...), and the workbook never calls them.
_OPENAPI_MODULES = ("openapi_spec_validator", "openapi_spec_validator.validation",
                    "openapi_spec_validator.validation.exceptions")


def defer_openapi_validator() -> bool:
    """Import moto's API Gateway models with stand-ins for openapi_spec_validator's two names;
    the first validation imports the real ones and rebinds both. False when already imported."""
    if OPENAPI_VALIDATE.module in sys.modules or _OPENAPI_MODULES[0] in sys.modules:
        return False

    class NotYetLoaded(Exception):
        """Stands for OpenAPIValidationError until the validator is loaded: nothing raises it."""

    def validate(*args: Any, **kwargs: Any) -> Any:
        from openapi_spec_validator import validate as real_validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

        # Before the call: moto's ``except OpenAPIValidationError`` reads the module's name when it raises.
        models.OpenAPIValidationError, models.validate = OpenAPIValidationError, real_validate
        return real_validate(*args, **kwargs)

    stand_ins = {name: types.ModuleType(name) for name in _OPENAPI_MODULES}
    stand_ins[_OPENAPI_MODULES[0]].validate = validate  # type: ignore[attr-defined]
    stand_ins[_OPENAPI_MODULES[-1]].OpenAPIValidationError = NotYetLoaded  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        models = importlib.import_module(OPENAPI_VALIDATE.module)
    finally:
        for name in _OPENAPI_MODULES:  # the real package imports as usual from now on
            if sys.modules.get(name) is stand_ins[name]:
                del sys.modules[name]
    return True


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
    for package in DEFERRED_PACKAGES:  # first: the service packages below may import moto's
        defer_package_init(package)
    defer_openapi_validator()
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
