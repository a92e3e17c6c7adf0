"""JSONata for moto's ASL interpreter, evaluated by jsonata-python.

moto ported LocalStack's interpreter but left the evaluator a stub (LocalStack used a JVM
bridge). The interpreter builds one JSONata *program text* per expression: the values of
``$states`` and of every ``Assign`` variable are written as declarations in front of the
user's expression, ``($states:=<value>;$myVar:=<value>;<expression>)``, then evaluated.

We keep that design and fill it in where moto left it open:

* ``_eval_jsonata`` — the stub's own function pointer — evaluates the program with
  jsonata-python;
* the encoder of those declarations writes each value as JSON behind a marker comment.
  moto writes a string value as ``"<value>"`` without escaping, so a quote, backslash or
  newline in any input or variable broke the program. The marker lets the evaluator bind the
  value straight from ``json.loads`` instead of making JSONata's pure-Python tokenizer re-read
  every payload for every expression (about 1 s per 300 KB); unmarked text still parses;
* the functions Step Functions adds to JSONata that moto only stubs (``$uuid``, ``$hash``)
  or builds on ``$eval`` (``$parse``) are native here; ``$eval`` is withdrawn, as on AWS.

An expression that fails to evaluate fails the state with ``States.QueryEvaluationError``,
which a Catch can handle; nothing in moto caught the evaluator's exception, so it would
have ended the execution as ``States.Runtime``. That failure, and moto's own for an
undefined result, are recorded as one ``EvaluationFailed`` event per attempt.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from typing import Any, Final

from ..hooks import Hook

_MOTO_JSONATA = "moto.stepfunctions.parser.asl.jsonata.jsonata"
_MOTO_STRINGS = "moto.stepfunctions.parser.asl.component.common.string.string_expression"

EVALUATOR = Hook(
    _MOTO_JSONATA, "_eval_jsonata", None, "moto's JSONata evaluator is a stub that calls this pointer")
STUB = Hook(
    _MOTO_JSONATA, "eval_jsonata_expression", ("jsonata_expression",),
    "every JSONata evaluation goes through this stub, which calls _eval_jsonata")
ENCODERS = [
    Hook(module, "encode_jsonata_variable_declarations", ("bindings",),
         "it writes $states and Assign variables into the JSONata program text")
    for module in (
        _MOTO_JSONATA,
        "moto.stepfunctions.parser.asl.eval.states",
        "moto.stepfunctions.parser.asl.eval.variable_store",
    )
]
AWS_FUNCTIONS = Hook(
    _MOTO_STRINGS, "get_intrinsic_functions_declarations", ("variable_references",),
    "it declares Step Functions' own JSONata functions; $uuid, $hash and $parse are native here")
STRING_JSONATA = Hook(
    _MOTO_STRINGS, "StringJSONata._eval_body", ("self", "env"),
    "a failing {% %} expression must fail the state with States.QueryEvaluationError")
ADD_EVENT = Hook(
    "moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager.add_event",
    ("self", "context", "event_type", "event_details", "timestamp", "update_source_event_id"),
    "a Task state records its failure's event again; an EvaluationFailed must appear once")

# Marks a declaration written by encode_declarations(): "$name:=/*localcloud:json*/<json>;".
# A JSONata comment, so the text stays a valid program when it is not lifted.
MARKER: Final[str] = "/*localcloud:json*/"
_DECLARATION = re.compile(r"(\$[A-Za-z0-9_$]+):=" + re.escape(MARKER))
_DECODER = json.JSONDecoder()
_LIFTED_PREFIX: Final[str] = "__localcloud_value_"

# An expression that loops forever would hold its execution's worker thread forever;
# AWS bounds evaluation too (its exact limits are not emulated).
TIMEOUT_MS: Final[int] = 10_000

# Functions Step Functions adds to JSONata which moto does not implement natively.
_NATIVE_FUNCTIONS: Final[frozenset[str]] = frozenset({"$uuid", "$hash", "$parse"})
_HASH_ALGORITHMS: Final[dict[str, str]] = {
    "MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512",
}


def _to_json(value: Any) -> str:
    # default=str: the context object can hold datetimes; moto's own encoder does the same.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def encode_declarations(bindings: dict[str, Any]) -> str:
    """moto's declaration encoder, writing every value as (marked) JSON."""
    return "".join(f"{reference}:={MARKER}{_to_json(value)};" for reference, value in bindings.items())


def _null() -> Any:
    from jsonata.utils import Utils

    return Utils.NULL_VALUE


def _lift(program: str) -> tuple[str, dict[str, Any]]:
    """Replace each marked JSON literal by a variable bound to its decoded value.

    ``$x:=<json>;`` becomes ``$x:=$__localcloud_value_0;`` with the value in the bindings, so
    the declaration keeps its place (and its scoping) in the program.
    """
    parts: list[str] = []
    bindings: dict[str, Any] = {}
    position = 0
    while match := _DECLARATION.search(program, position):
        try:
            value, end = _DECODER.raw_decode(program, match.end())
        except ValueError:
            parts.append(program[position:match.end()])
            position = match.end()
            continue
        name = f"{_LIFTED_PREFIX}{len(bindings)}"
        # A top-level None would read as JSONata's *undefined*; nested ones read as null.
        bindings[name] = _null() if value is None else value
        parts.append(program[position:match.start()])
        parts.append(f"{match.group(1)}:=${name}")
        position = end
    parts.append(program[position:])
    return "".join(parts), bindings


def _uuid() -> str:
    return str(uuid.uuid4())


def _hash(value: Any = None, algorithm: Any = None) -> str | None:
    name = _HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if not isinstance(value, str) or name is None:
        return None  # undefined, which fails the field as on AWS
    return hashlib.new(name, value.encode("utf-8")).hexdigest()


class FunctionError(Exception):
    """A native function refused its arguments; reported like a JSONata error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse(text: Any = None) -> Any:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        # JSONata's code for a malformed $eval argument, which moto's $parse used to be.
        raise FunctionError("D3120", f"Malformed JSON passed to function parse: {exc}") from exc
    return _null() if value is None else value


def _random(seed: Any = None) -> float:
    # AWS's $random takes an optional seed; JSONata's own takes none.
    return random.Random(seed).random() if isinstance(seed, (int, float)) else random.random()


def _function_bindings() -> dict[str, Any]:
    from jsonata import Jsonata

    return {
        "uuid": Jsonata.JLambda(_uuid),
        "hash": Jsonata.JLambda(_hash),
        "parse": Jsonata.JLambda(_parse),
        "random": Jsonata.JLambda(_random),
        # Not available on AWS ("use $parse instead"); calling it fails with T1006.
        "eval": None,
    }


def _is_json_value(value: Any) -> bool:
    return isinstance(value, (dict, list, str, int, float, bool)) or value is _null()


# Our code for a result JSON cannot hold (a function, a regex).
_UNSUPPORTED_RESULT: Final[str] = "UnsupportedResult"


def evaluate(program: str) -> Any:
    """Evaluate a program moto composed; None means JSONata's *undefined*.

    Raises moto's ``JSONataException`` (error code, message) when JSONata reports an error.
    """
    from jsonata import Jsonata
    from jsonata.jexception import JException
    from jsonata.utils import Utils
    from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

    text, bindings = _lift(program)
    try:
        expression = Jsonata(text, timeout=TIMEOUT_MS)
        expression.set_output_convert_nulls(False)  # keep null distinct from undefined
        result = expression.evaluate(None, {**_function_bindings(), **bindings})
    except JException as exc:
        raise JSONataException(exc.error, str(exc)) from exc
    except FunctionError as exc:
        raise JSONataException(exc.code, exc.message) from exc
    except RecursionError as exc:
        raise JSONataException("U1001", "Stack overflow error: the expression nests too deeply") from exc
    if result is None:
        return None
    if not _is_json_value(result):
        raise JSONataException(_UNSUPPORTED_RESULT, "returned an unsupported result type")
    return Utils.convert_nulls(result)


def _without_native_functions(original: Callable[..., str]) -> Callable[..., str]:
    def get_intrinsic_functions_declarations(variable_references: set[str]) -> str:
        return original(variable_references=set(variable_references) - _NATIVE_FUNCTIONS)

    return get_intrinsic_functions_declarations


class RecordedEventDetails(dict):  # type: ignore[type-arg]
    """Details of a failure event already written to the history.

    An expression fails the same way in every state: the ``EvaluationFailed`` event is
    recorded where it happens (moto's own undefined-result check does the same). A Task,
    Map or Parallel state then records the failure event it caught a second time; AWS
    records it once per attempt, so recording these details again is a no-op.
    """


def _add_event_once(original: Callable[..., int]) -> Callable[..., int]:
    def add_event(
        self: Any,
        context: Any,
        event_type: Any,
        event_details: Any = None,
        timestamp: Any = None,
        update_source_event_id: bool = True,
    ) -> int:
        if isinstance(event_details, RecordedEventDetails):
            return context.last_published_event_id
        return original(self, context, event_type, event_details, timestamp, update_source_event_id)

    return add_event


def query_evaluation_error(env: Any, expression: str, error: str, details: str | None) -> Exception:
    """The failure AWS reports for an expression that cannot be evaluated.

    Built like moto's own ``validate_jsonata_expression_output`` (used for an undefined
    result): an ``EvaluationFailed`` event, then a failure a Catch can match.
    """
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if error == _UNSUPPORTED_RESULT:
        cause = f"The JSONata expression '{expression}' returned an unsupported result type."
    else:
        cause = f"The JSONata expression '{expression}' threw an error during evaluation. {error}: {details}"
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    failure = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=RecordedEventDetails(
                evaluationFailedEventDetails=EvaluationFailedEventDetails(error=error_name.error_name, cause=cause)
            ),
        )
    )
    # The recorded event says where it failed ("An error occurred while executing the state
    # 'X' (entered at the event id #N). ...", and "state"); the failure itself keeps the
    # bare cause, which the ExecutionFailed event decorates the same way.
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=failure.get_evaluation_failed_event_details()),
    )
    return failure


def _failing_as_query_evaluation_error(original: Callable[..., None]) -> Callable[..., None]:
    def _eval_body(self: Any, env: Any) -> None:
        from moto.stepfunctions.parser.api import HistoryEventType
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
        from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

        try:
            original(self, env)
        except JSONataException as exc:
            raise query_evaluation_error(env, self.expression, exc.error, exc.details) from None
        except FailureEventException as exc:
            # moto's undefined-result check has recorded its EvaluationFailed event already.
            event = exc.failure_event
            if event.event_type == HistoryEventType.EvaluationFailed and event.event_details is not None:
                event.event_details = RecordedEventDetails(event.event_details)  # type: ignore[misc]
            raise

    return _eval_body
