"""moto packages the server imports only when they are first used (idle memory).

:func:`defer` runs once, before anything imports moto's Step Functions or API Gateway
models, which would otherwise load moto's Batch package and an OpenAPI validator that the
workbook never calls. ``tests/localcloud/test_lazy_imports.py`` checks that both wait.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

from .hooks import Hook, check

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


OPENAPI_VALIDATE = Hook("moto.apigateway.models", "validate", None,
                        "ImportRestApi/PutRestApi validate the document with openapi_spec_validator, "
                        "loaded on that first call")
OPENAPI_ERROR = Hook("moto.apigateway.models", "OpenAPIValidationError", None,
                     "ImportRestApi/PutRestApi catch it by the module's name, rebound on that first call")
# Checked only: defer_openapi_validator() rebinds both itself, at the first validation.
HOOKS = [check(OPENAPI_VALIDATE), check(OPENAPI_ERROR)]

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


def defer() -> None:
    """Defer every package above (called once by the server, before the service packages load)."""
    for package in DEFERRED_PACKAGES:  # before the next step imports moto's API Gateway models
        defer_package_init(package)
    defer_openapi_validator()
