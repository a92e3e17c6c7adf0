"""Gateway responses: the answer to a request API Gateway refuses itself, as the API customised it.

An API customises these answers with PutGatewayResponse, per response type
(``MISSING_AUTHENTICATION_TOKEN``, ``INVALID_API_KEY``, ``DEFAULT_4XX``...): a ``statusCode``,
``responseParameters`` (``gatewayresponse.header.NAME`` headers) and ``responseTemplates`` (body
per content type). :func:`answer` turns a :class:`~.errors.GatewayError` into the client's answer:

* The customisation comes from the **deployment the stage serves** (the snapshot in
  :mod:`.deployments`), as on AWS, where a gateway response changed after the last
  CreateDeployment shows only once the API is deployed again.
* The error's own type is used if the API customised it, else ``DEFAULT_4XX`` or
  ``DEFAULT_5XX`` by the error's status class, else the built-in answer (:func:`built_in`).
* ``statusCode`` replaces the status; without it the error keeps its own status.
* The template is chosen by the request's first ``Accept`` media type, then
  ``application/json``, then the first one; its key becomes ``Content-Type``. A customisation
  without templates keeps the built-in body.
* Templates are not Velocity (AWS: "not processed by the VTL engine"): only references to
  ``$context.*`` (including ``$context.error.message``, ``.messageString`` and
  ``.responseType``) and ``$stageVariables.*`` are substituted; anything else stays as written.
* ``x-amzn-ErrorType`` stays, as AWS keeps it on customised answers.

References:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from . import content, errors, vtl
from .context import ApiResponse, Progress, request_context
from .deployments import DeployedGatewayResponse

log = logging.getLogger("localcloud.apigateway")

_HEADER_TARGET = "gatewayresponse.header."
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# Velocity-style references: $a.b, $!a.b, ${a.b}, $!{a.b}.
_REFERENCE = re.compile(rf"\$!?(?:\{{(?P<braced>{_NAME}(?:\.{_NAME})*)\}}|(?P<bare>{_NAME}(?:\.{_NAME})*))")
_REQUEST_SOURCE = re.compile(r"^method\.request\.(?P<place>header|querystring|path)\.(?P<name>.+)$")


def built_in(error: errors.GatewayError) -> ApiResponse:
    """AWS's default answer for the error (the API customised nothing that applies)."""
    headers = [("Content-Type", error.content_type)]
    if error.error_type:
        headers.append(("x-amzn-ErrorType", error.error_type))
    return ApiResponse(status=error.status, headers=headers, body=error.body.encode("utf-8"))


def family(status: int) -> str:
    """The fallback type for a status: DEFAULT_5XX for 5xx, else DEFAULT_4XX."""
    return errors.DEFAULT_5XX if status >= 500 else errors.DEFAULT_4XX


def select(error: errors.GatewayError,
           customised: Mapping[str, DeployedGatewayResponse]) -> DeployedGatewayResponse | None:
    """The error's own type if customised, else its DEFAULT_4XX/DEFAULT_5XX, else None."""
    for response_type in (error.response_type, family(error.status)):
        found = customised.get(response_type)
        if found is not None:
            return found
    return None


def status_of(customisation: DeployedGatewayResponse, error: errors.GatewayError) -> int:
    raw = customisation.status_code
    try:
        status = int(raw) if raw is not None else None
    except ValueError:
        status = None
    if status is None or not 100 <= status <= 599:
        if raw is not None:
            log.warning("gateway response %s has statusCode %r, not an HTTP status; keeping %s",
                        customisation.response_type, raw, error.status)
        return error.status
    return status


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else vtl.java_str(value)


def _lookup(root: Any, names: list[str]) -> tuple[bool, Any]:
    value = root
    for name in names:
        if not isinstance(value, Mapping) or name not in value:
            return False, None
        value = value[name]
    return True, value


def substitute(template: str, variables: Mapping[str, Any]) -> str:
    """Simple variable substitution, as AWS renders gateway response templates.

    ``variables`` maps roots (``context``, ``stageVariables``) to nested mappings. A reference
    under a known root prints its value (missing or null values print nothing, which AWS does
    not document); a reference to any other root (``$input.body``, ``$util``) stays as written.
    """

    def replace(found: re.Match[str]) -> str:
        path = (found.group("braced") or found.group("bare")).split(".")
        if path[0] not in variables:
            return found.group(0)
        _, value = _lookup(variables[path[0]], path[1:])
        return _text(value)

    return _REFERENCE.sub(replace, template)


def _parameter_value(source: str, progress: Progress, variables: Mapping[str, Any]) -> str | None:
    """A responseParameters source: 'literal', method.request.*, stageVariables.*, context.*."""
    source = source.strip()
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    request = progress.request
    found = _REQUEST_SOURCE.match(source)
    if found and request is not None:
        place, name = found["place"], found["name"]
        if place == "header":
            return request.header(name)
        if place == "querystring":
            values = [value for key, value in request.query if key == name]
            return values[-1] if values else None
        return progress.route.path_parameters.get(name) if progress.route is not None else None
    root, _, rest = source.partition(".")
    if root in ("context", "stageVariables") and rest:
        known, value = _lookup(variables[root], rest.split("."))
        return _text(value) if known and value is not None else None
    log.warning("gateway response parameter source %r is not emulated; header not set", source)
    return None


def mapped_headers(parameters: Mapping[str, str], progress: Progress,
                   variables: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``gatewayresponse.header.NAME`` mappings whose source has a value."""
    headers = []
    for target, source in parameters.items():
        if not target.startswith(_HEADER_TARGET):
            log.warning("gateway response parameter %r is not a header; ignored", target)
            continue
        value = _parameter_value(str(source), progress, variables)
        if value is not None:
            headers.append((target[len(_HEADER_TARGET):], value))
    return headers


def template_variables(error: errors.GatewayError, progress: Progress, *, request_id: str,
                       extended_request_id: str) -> dict[str, Any]:
    """``$context`` (with ``error``) and ``$stageVariables`` for a request that got a stage."""
    assert progress.request is not None and progress.stage is not None
    context_variables = request_context(
        progress.request, progress.stage, request_id=request_id, extended_request_id=extended_request_id,
        received_at=progress.received_at, route=progress.route, api_key=progress.api_key,
    )
    context_variables["error"] = {
        "message": error.message,
        "messageString": json.dumps(error.message, ensure_ascii=False),
        "responseType": error.response_type,
        "validationErrorString": "",  # request validators are not emulated
    }
    return {"context": context_variables, "stageVariables": dict(progress.stage.variables)}


def _customised(error: errors.GatewayError, customisation: DeployedGatewayResponse, progress: Progress, *,
                request_id: str, extended_request_id: str) -> ApiResponse:
    variables = template_variables(error, progress, request_id=request_id, extended_request_id=extended_request_id)
    assert progress.request is not None
    chosen = content.choose_template(customisation.response_templates, progress.request.header("Accept"))
    if chosen is None:
        content_type, body = error.content_type, error.body
    else:
        content_type, body = chosen[0], substitute(chosen[1], variables)
    mapped = mapped_headers(customisation.response_parameters, progress, variables)
    names = {name.lower() for name, _ in mapped}
    headers = [(name, value) for name, value in built_in(error).headers if name.lower() not in names]
    headers = [(name, content_type if name == "Content-Type" else value) for name, value in headers]
    return ApiResponse(status=status_of(customisation, error), headers=headers + mapped,
                       body=body.encode("utf-8"))


def answer(error: errors.GatewayError, progress: Progress, *, request_id: str,
           extended_request_id: str) -> ApiResponse:
    """The client's answer to ``error``: the deployed customisation that applies, else the built-in one."""
    stage = progress.stage
    if not error.customisable or stage is None or progress.request is None:
        return built_in(error)
    customisation = select(error, stage.api.gateway_responses)
    if customisation is None:
        return built_in(error)
    try:
        return _customised(error, customisation, progress, request_id=request_id,
                           extended_request_id=extended_request_id)
    except Exception:
        log.exception("gateway response %s could not be applied; answering with the default",
                      customisation.response_type)
        return built_in(error)
