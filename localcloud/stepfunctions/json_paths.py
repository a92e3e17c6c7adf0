"""JSONPath expressions parsed once per path text, not once per evaluation.

moto's interpreter parses every path it evaluates (``InputPath``, ``OutputPath``,
``ResultPath``, each ``"key.$"`` of ``Parameters``, Choice variables) anew, and jsonpath-ng
builds a new parser for each parse: about 0.2-0.3 ms of CPU, three or more times per state.
A parsed expression is an immutable tree (``find`` and ``update`` change the data, not the
tree), so executions share one per path text. A path that does not parse raises as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..hooks import Hook

PARSERS = [
    Hook("moto.stepfunctions.parser.asl.utils.json_path", "parse", ("path", "debug"),
         "the interpreter parses every JSONPath it reads with it"),
    Hook("moto.stepfunctions.parser.asl.component.common.path.result_path", "parse", ("string",),
         "ResultPath parses its path with it at every state"),
]
# Paths come from definitions; this bounds the memory a very large number of them could take.
MAX_PATHS = 4096


def _parsed_once(original: Callable[..., Any]) -> Callable[..., Any]:
    return functools.lru_cache(maxsize=MAX_PATHS)(original)
