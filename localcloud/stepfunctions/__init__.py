"""Step Functions: executions really run, in moto's ASL interpreter, plus what it lacks.

``hooks.configure_moto`` turns the interpreter on; this package adds, each in its module:

* ``jsonata`` — JSONata evaluation (moto ships a stub) and ``States.QueryEvaluationError``;
* ``limits`` — the 256 KiB payload quota measured as AWS does, and on StartExecution;
* ``executions`` — unnamed StartExecution, name validation, before moto's idempotency rule;
* ``history`` — ``assignedVariables`` in the history as JSON;
* ``definitions`` — each definition is read by ANTLR once, not at every execution;
* ``json_paths`` — each JSONPath is parsed once, not at every evaluation;
* ``lambda_tasks`` — ``Lambda.<Code>`` error names for plain function ARN Tasks;
* ``error_matching`` — ``States.Runtime`` is never retried or caught;
* ``api_errors`` — API errors such as ``InvalidDefinition`` carry their code;
* ``parser_scopes`` — a refused JSONata definition no longer breaks the parsing of later ones;
* ``service_calls`` — its calls to Lambda and other services are signed with the state machine
  role's credentials, through clients reused across tasks (``clients``).

What still differs from AWS is listed in ``docs/fidelity/stepfunctions.md``.
"""

from __future__ import annotations

from . import (api_errors, definitions, error_matching, executions, history, json_paths, jsonata, lambda_tasks,
               limits, parser_scopes, service_calls)

# Every module that registers hooks (tests/localcloud/test_hooks.py imports them).
HOOK_MODULES = ("api_errors", "definitions", "error_matching", "executions", "history", "json_paths", "jsonata",
                "lambda_tasks", "limits", "parser_scopes", "service_calls")


def install(access_key_id: str, secret_access_key: str) -> None:
    """Install the Step Functions hooks into moto; its service calls sign with this key."""
    service_calls.install(access_key_id, secret_access_key)
    jsonata.install()
    limits.install()
    executions.install()
    history.install()
    json_paths.install()
    definitions.install()
    lambda_tasks.install()
    error_matching.install()
    api_errors.install()
    parser_scopes.install()
