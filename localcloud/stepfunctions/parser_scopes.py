"""Each definition is parsed with its own QueryLanguage scopes.

moto's ``Preprocessor`` keeps the stack of QueryLanguage scopes it walks through (JSONPath or
JSONata, per state) in a *class* attribute, one list shared by every parse. A definition it
refuses in the middle of a JSONata state (a JSONPath field such as ``ResultPath`` there:
``InvalidDefinition``, as on AWS) leaves that state's scope on the list, and every later
parse starts inside it: the local cloud then refused every JSONPath definition, and every
StartExecution, until it was restarted. Two parses at once shared the list too. Here each
``Preprocessor`` gets a list of its own.
"""

from __future__ import annotations

from typing import Any

from ..hooks import Hook

SCOPES = Hook(
    "moto.stepfunctions.parser.asl.parse.preprocessor", "Preprocessor._query_language_per_scope", None,
    "moto shares one list of QueryLanguage scopes between parses; a refused definition leaves its scope on it")


class ScopesPerParse:
    """A descriptor that gives each Preprocessor (one per parse) its own list of scopes."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.__dict__.setdefault("_localcloud_query_language_scopes", [])
