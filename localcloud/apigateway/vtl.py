"""Mapping templates: Velocity (airspeed-ext) with API Gateway's $input, $util and $context.

Reference: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
AWS evaluates templates in Java, so values print the way Java prints them: a JSON object from
``$input.path`` as ``{name=value}`` (a Java Map), a JSON array as JSON text (json-smart's
JSONArray), ``true``/``false``/``null`` in lower case. The wrappers in ``java_values.py``
reproduce that, and give maps and lists the Java methods templates call (``size()``,
``keySet()``, ``get()``...).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed

from . import errors, vtl_sandbox
from .java_values import VtlMap, java_str, plain, to_vtl

vtl_sandbox.install()  # templates reach only what API Gateway's Velocity exposes

# JSONPath features that make a path "indefinite": Jayway then always returns a list.
_INDEFINITE = re.compile(r"\.\.|\*|\[\?|\[[^\]]*[,:][^\]]*\]")


def _jsonpath(document: Any, path: str) -> Any:
    from jsonpath_ng import parse as parse_jsonpath

    path = (path or "$").strip()
    if path == "$":
        return document
    try:
        matches = [found.value for found in parse_jsonpath(path).find(document)]
    except Exception as exc:  # jsonpath_ng raises several unrelated types on bad syntax
        raise errors.internal_server_error(f"invalid JSONPath {path!r} in mapping template: {exc}") from exc
    if _INDEFINITE.search(path):
        return matches
    return matches[0] if matches else None


class InputVariable:
    """``$input``: the payload and the method request's parameters."""

    VTL_MEMBERS = frozenset({"body", "json", "path", "params"})  # all a template may reach

    def __init__(self, body: str, params: dict[str, dict[str, str]]) -> None:
        # API Gateway treats an empty payload as the JSON object {}.
        self._body = body if body else "{}"
        self._params = params

    @property
    def body(self) -> str:
        return self._body

    def _document(self) -> Any:
        try:
            return json.loads(self._body)
        except ValueError:
            return self._body  # not JSON: the whole payload is one string value

    def json(self, path: str = "$") -> str:
        """The JSONPath result as JSON text."""
        return json.dumps(plain(_jsonpath(self._document(), path)), separators=(",", ":"), ensure_ascii=False)

    def path(self, path: str = "$") -> Any:
        """The JSONPath result as an object the template can navigate."""
        return to_vtl(_jsonpath(self._document(), path))

    def params(self, name: str | None = None) -> Any:
        """All parameters (path, querystring, header), or one by name searched in that order."""
        if name is None:
            return VtlMap.wrap(self._params)
        for part in ("path", "querystring"):
            if name in self._params[part]:
                return self._params[part][name]
        wanted = name.lower()
        for header, value in self._params["header"].items():
            if header.lower() == wanted:
                return value
        return ""


def escape_javascript(value: Any) -> str:
    """Apache commons-lang ``escapeJavaScript``, which AWS uses (it escapes ' and / too)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else java_str(value)
    named = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r",
             "'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
    out = []
    for unit in _utf16_units(text):
        char = chr(unit)
        if char in named:
            out.append(named[char])
        elif unit > 0x7F or unit < 0x20:
            out.append(f"\\u{unit:04X}")
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(text: str) -> list[int]:
    """Java strings are UTF-16: characters beyond the BMP escape as two surrogates."""
    data = text.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


class UtilVariable:
    """``$util``."""

    VTL_MEMBERS = frozenset({"escapeJavaScript", "parseJson", "base64Encode", "base64Decode", "urlEncode", "urlDecode"})

    def escapeJavaScript(self, value: Any) -> str:  # noqa: N802
        return escape_javascript(value)

    def parseJson(self, text: str) -> Any:  # noqa: N802
        try:
            return to_vtl(json.loads(text))
        except (TypeError, ValueError) as exc:
            raise errors.internal_server_error(f"$util.parseJson: invalid JSON: {exc}") from exc

    def base64Encode(self, value: Any) -> str:  # noqa: N802
        text = value if isinstance(value, str) else java_str(value)
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    def base64Decode(self, value: Any) -> str:  # noqa: N802
        text = value if isinstance(value, str) else java_str(value)
        return base64.b64decode(text).decode("utf-8", errors="replace")

    def urlEncode(self, value: Any) -> str:  # noqa: N802
        # java.net.URLEncoder: like quote_plus but keeps "*" and encodes "~".
        return quote_plus(value if isinstance(value, str) else java_str(value), safe="*").replace("~", "%7E")

    def urlDecode(self, value: Any) -> str:  # noqa: N802
        return unquote_plus(value if isinstance(value, str) else java_str(value))


@dataclass
class Rendered:
    text: str
    status_override: int | None = None
    header_overrides: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def _compiled(template: str) -> airspeed.Template:
    compiled = airspeed.Template(template)
    compiled.ensure_compiled()
    return compiled


def render(
    template: str,
    *,
    body: str,
    params: dict[str, dict[str, str]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> Rendered:
    """Evaluate a mapping template; a broken template is API Gateway's 500."""
    context_variable = VtlMap.wrap(dict(context))
    # Templates may #set these; the integration response applies what they set.
    context_variable["responseOverride"] = VtlMap(status=None, header=VtlMap())
    context_variable["requestOverride"] = VtlMap(header=VtlMap(), querystring=VtlMap(), path=VtlMap())
    namespace = {
        "input": InputVariable(body, params),
        "util": UtilVariable(),
        "context": context_variable,
        "stageVariables": VtlMap.wrap(dict(stage_variables)),
    }
    try:
        text = _compiled(template).merge(namespace)
    except errors.GatewayError:
        raise
    except airspeed.TemplateExecutionError as exc:
        if isinstance(exc.__cause__, vtl_sandbox.SandboxViolation):
            raise errors.internal_server_error(f"mapping template refused: {exc.__cause__}") from exc
        raise errors.internal_server_error(f"mapping template failed: {exc}") from exc
    except Exception as exc:  # airspeed raises its own errors and whatever a template call raises
        raise errors.internal_server_error(f"mapping template failed: {exc}") from exc
    override = context_variable["responseOverride"]
    status = override.get("status")
    try:
        status_override = int(status) if status not in (None, "") else None
    except (TypeError, ValueError):
        status_override = None
    if status_override is not None and not 100 <= status_override <= 599:
        status_override = None  # AWS ignores an override that is not an HTTP status
    headers = {str(name): java_str(value) for name, value in (override.get("header") or {}).items()}
    return Rendered(text=text, status_override=status_override, header_overrides=headers)
