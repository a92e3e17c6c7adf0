"""Each state machine definition is read by ANTLR once, not at every execution.

moto's interpreter parses the definition again at the start of every execution (and at
CreateStateMachine, UpdateStateMachine): ANTLR's pure-Python lexer and parser take about
1-3 ms for a three-state machine, before the execution's first event. The syntax tree is only
read afterwards, so one is kept per definition text; every execution still gets evaluation
components of its own from moto's ``Preprocessor``, since those hold the state of a run
(a Parallel state counts its live branches). A definition that does not parse raises as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..hooks import Hook

PARSE = Hook(
    "moto.stepfunctions.parser.asl.parse.asl_parser", "AmazonStateLanguageParser.parse", ("definition",),
    "every execution parses its state machine's definition with it")
# Enough for every state machine a workbook or a test run creates; bounds the trees kept.
MAX_DEFINITIONS = 256


def _tree_read_once(original: Callable[[str], tuple[Any, Any]]) -> Callable[[str], tuple[Any, Any]]:
    @functools.lru_cache(maxsize=MAX_DEFINITIONS)
    def syntax_tree(definition: str) -> Any:
        return original(definition)[1]

    def parse(definition: str) -> tuple[Any, Any]:
        from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

        tree = syntax_tree(definition)
        return Preprocessor().visit(tree), tree

    return parse
