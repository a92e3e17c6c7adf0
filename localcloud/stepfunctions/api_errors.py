"""Step Functions API errors carry their code on the wire, as AWS sends it.

moto's interpreter raises LocalStack-style errors (``InvalidDefinition`` and its siblings
name their code in a ``code`` class attribute) through moto's ``AWSError``, which renders
``TYPE`` and leaves it empty: boto3 then saw an error with no code at all. We copy each
class's code into ``TYPE``, once, for every such class.
"""

from __future__ import annotations

import importlib

from ..hooks import Hook

PARSER_API = Hook(
    "moto.stepfunctions.parser.api", "InvalidDefinition", None,
    "CreateStateMachine's InvalidDefinition (and the parser's other API errors) need their code on the wire")


def give_codes() -> None:
    """Copy each error class's ``code`` into its ``TYPE`` (called once by the server; idempotent)."""
    from moto.core.exceptions import AWSError

    module = importlib.import_module(PARSER_API.module)
    for error in vars(module).values():
        code = getattr(error, "__dict__", {}).get("code")
        if isinstance(error, type) and issubclass(error, AWSError) and error.TYPE is None and isinstance(code, str):
            error.TYPE = code
            error.STATUS = getattr(error, "status_code", 400)
