"""Step Functions: executions really run, in moto's ASL interpreter, plus what it lacks.

The server's moto configuration (``server.py``) turns the interpreter on; this package adds,
each in its module:

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

What still differs from AWS is listed in ``docs/localcloud/fidelity/stepfunctions.md``. Every moto internal this
package replaces or relies on is in :data:`HOOKS`, in the order the server installs them.
"""

from __future__ import annotations

from ..hooks import check, replace, wrap
from . import (
    api_errors,
    definitions,
    error_matching,
    executions,
    history,
    json_paths,
    jsonata,
    lambda_tasks,
    limits,
    parser_scopes,
    service_calls,
)

HOOKS = [
    *(replace(hook, service_calls.boto_client_for) for hook in service_calls.CLIENT_FACTORIES),
    replace(jsonata.EVALUATOR, jsonata.evaluate),
    check(jsonata.STUB),
    *(replace(hook, jsonata.encode_declarations) for hook in jsonata.ENCODERS),
    wrap(jsonata.AWS_FUNCTIONS, jsonata._without_native_functions),
    wrap(jsonata.STRING_JSONATA, jsonata._failing_as_query_evaluation_error),
    wrap(jsonata.ADD_EVENT, jsonata._add_event_once),
    *(replace(hook, limits.is_within_size_quota) for hook in limits.SIZE_CHECKS),
    wrap(executions.START_EXECUTION, executions._start_execution),
    wrap(executions.DESCRIBE_EXECUTION, executions._output_as_json),
    check(executions.IDEMPOTENCY),
    wrap(history.ASSIGNED_VARIABLES, history._as_json),
    *(wrap(hook, json_paths._parsed_once) for hook in json_paths.PARSERS),
    wrap(definitions.PARSE, definitions._tree_read_once),
    wrap(lambda_tasks.PLAIN_ARN_ERRORS, lambda_tasks._named_after_lambda_error_code),
    check(lambda_tasks.SERVICE_ERROR_NAMES),
    wrap(error_matching.ERROR_EQUALS, error_matching._runtime_errors_never_match),
    check(api_errors.PARSER_API),
    replace(parser_scopes.SCOPES, parser_scopes.ScopesPerParse()),
]


def configure(access_key_id: str, secret_access_key: str) -> None:
    """What the hooks need from the server (called once by it): the key its service calls sign with
    when no role applies; and the parser's API errors get their code."""
    service_calls.configure(access_key_id, secret_access_key)
    api_errors.give_codes()
