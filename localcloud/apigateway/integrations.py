"""Running a method's integration: AWS_PROXY and AWS (Lambda), and MOCK.

Lambda calls go through an injected :class:`LambdaInvoker` (by default the local cloud's Lambda
runtime) on a worker thread, so an integration that outlives its ``timeoutInMillis`` is answered
with API Gateway's 504 while the function itself runs on, as it does on AWS.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeVar

from . import content, errors, proxy, vtl
from .context import ApiResponse, Invocation

log = logging.getLogger("localcloud.apigateway")

DEFAULT_TIMEOUT_MS = 29_000  # also the maximum for REST APIs (without a quota increase)
MIN_TIMEOUT_MS = 50
JSON = "application/json"

_LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(?P<function>.+)/invocations/?$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_.-]+)\}")
_PARAM_HEADER = "method.response.header."
_BODY_SOURCE = "integration.response.body"

T = TypeVar("T")


class LambdaResult(Protocol):
    payload: bytes
    function_error: str | None


class LambdaInvoker(Protocol):
    def __call__(self, *, function: str, payload: bytes, qualifier: str | None,
                 account_id: str, region: str) -> LambdaResult: ...


def runtime_invoker(*, function: str, payload: bytes, qualifier: str | None,
                    account_id: str, region: str) -> LambdaResult:
    """Synchronous invoke through the local cloud's Lambda runtime."""
    from ..awslambda import runtime

    return runtime.invoke(
        function=function, payload=payload, qualifier=qualifier, invocation_type="RequestResponse",
        log_type="None", account_id=account_id, region=region,
    )


def timeout_ms(integration: Any) -> int:
    """The integration's timeoutInMillis, defaulted and clamped to API Gateway's 50..29000."""
    raw = integration.timeout_in_millis
    try:
        value = int(raw) if raw not in (None, "") else DEFAULT_TIMEOUT_MS
    except (TypeError, ValueError):
        value = DEFAULT_TIMEOUT_MS
    return max(MIN_TIMEOUT_MS, min(value, DEFAULT_TIMEOUT_MS))


# Integrations run on reused threads (a new thread per request cost as much as the rest of a
# MOCK request); generous, since one that timed out keeps its thread until the function ends.
_INTEGRATIONS = ThreadPoolExecutor(max_workers=256, thread_name_prefix="apigateway-integration")


def call_with_timeout(work: Callable[[], T], limit_ms: int) -> T:
    """Run ``work`` on a worker thread; 504 if it is not done in ``limit_ms`` (it runs on)."""
    try:
        return _INTEGRATIONS.submit(work).result(timeout=limit_ms / 1000)
    except FutureTimeout:
        raise errors.integration_timeout(limit_ms) from None


def render_stage_variables(text: str, variables: Mapping[str, str]) -> str:
    return _STAGE_VARIABLE.sub(lambda found: variables.get(found.group(1), ""), text)


def lambda_target(uri: str, variables: Mapping[str, str]) -> tuple[str, str | None] | None:
    """(function ARN or name, qualifier) from a Lambda integration URI, or None if not Lambda."""
    found = _LAMBDA_URI.match(render_stage_variables(uri or "", variables))
    if found is None:
        return None
    function = found["function"]
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    return function, None


def _invoke_lambda(invocation: Invocation, integration: Any, payload: bytes, invoker: LambdaInvoker) -> LambdaResult:
    from moto.awslambda.exceptions import LambdaClientError

    from ..awslambda.runtime import RequestTooLarge

    target = lambda_target(integration.uri, invocation.stage_variables)
    if target is None:
        raise errors.internal_server_error(f"integration URI {integration.uri!r} does not name a Lambda function")
    if (integration.http_method or "").upper() != "POST":
        # Lambda's Invoke API is a POST; AWS's PutIntegration insists on it, moto does not.
        raise errors.internal_server_error(
            f"Lambda integrations must use integrationHttpMethod POST, not {integration.http_method!r}")
    function, qualifier = target
    parts = function.split(":")
    region, account_id = (parts[3], parts[4]) if function.startswith("arn:") and len(parts) >= 7 else (
        invocation.stage.region, invocation.stage.account_id)

    if not _may_invoke(invocation, function, qualifier, account_id, region):
        # AWS's execution log: "Execution failed due to configuration error: Invalid permissions on Lambda function"
        raise errors.internal_server_error(
            "Execution failed due to configuration error: Invalid permissions on Lambda function "
            f"(no statement of {function}'s resource-based policy lets apigateway.amazonaws.com invoke it "
            f"from {_source_arn(invocation)}; add one with lambda add_permission and this SourceArn)")

    def work() -> LambdaResult:
        return invoker(function=function, payload=payload, qualifier=qualifier, account_id=account_id, region=region)

    try:
        return call_with_timeout(work, timeout_ms(integration))
    except LambdaClientError as exc:
        if isinstance(exc, RequestTooLarge):  # Lambda refused the event: over its 6 MB payload limit
            raise errors.request_too_long(f"Lambda invoke of {function} refused the event: {exc}") from exc
        # AWS: "Execution failed due to configuration error" (no such function, no permission...).
        raise errors.internal_server_error(f"Lambda invoke of {function} failed: {exc}") from exc


def _source_arn(invocation: Invocation) -> str:
    """The ARN API Gateway presents to Lambda: api-id/stage/METHOD/path, with the request's own path."""
    stage = invocation.stage
    return (f"arn:aws:execute-api:{stage.region}:{stage.account_id}:{stage.api_id}/{stage.stage_name}/"
            f"{invocation.request.http_method}{invocation.request.path}")


def _may_invoke(invocation: Invocation, function: str, qualifier: str | None, account_id: str, region: str) -> bool:
    """Whether the function's resource-based policy lets API Gateway invoke it for this request."""
    from ..iam.enforce import ENFORCER

    arn = function if function.startswith("arn:") else f"arn:aws:lambda:{region}:{account_id}:function:{function}"
    if qualifier:
        arn = f"{arn}:{qualifier}"
    return ENFORCER.service_may_invoke(arn, "apigateway.amazonaws.com", source_arn=_source_arn(invocation),
                                       source_account=invocation.stage.account_id)


def _request_params(invocation: Invocation) -> dict[str, dict[str, str]]:
    """``$input.params()``: single values, the last one where a name repeats."""
    request = invocation.request
    return {
        "path": dict(invocation.route.path_parameters),
        "querystring": dict(request.query),
        "header": {name: value for name, value in request.headers},
    }


def _render(invocation: Invocation, template: str, body: str) -> vtl.Rendered:
    return vtl.render(
        template,
        body=body,
        params=_request_params(invocation),
        context=invocation.context_variables(),
        stage_variables=invocation.stage_variables,
    )


def request_template(integration: Any, content_type: str | None) -> str | None:
    """The request template for this content type; None means pass the body through.

    Raises 415 when the passthrough behaviour forbids passing an unmapped body through.
    """
    templates = {key.lower(): value for key, value in (integration.request_templates or {}).items()}
    wanted = content.media_type(content_type) or JSON  # AWS assumes JSON when there is none
    if wanted in templates:
        return templates[wanted] or ""
    behaviour = (integration.passthrough_behaviour or "WHEN_NO_MATCH").upper()
    if behaviour == "NEVER" or (behaviour == "WHEN_NO_TEMPLATES" and templates):
        raise errors.unsupported_media_type(wanted)
    return None


def select_integration_response(integration: Any, selection: str) -> Any:
    """The integration response whose selectionPattern fully matches, else the default one."""
    responses = list((integration.integration_responses or {}).values())
    for candidate in responses:
        pattern = candidate.selection_pattern
        if not pattern:
            continue
        try:
            if re.fullmatch(pattern, selection):
                return candidate
        except re.error as exc:
            log.warning("selectionPattern %r is not a valid regex: %s", pattern, exc)
    defaults = [candidate for candidate in responses if not candidate.selection_pattern]
    if defaults:
        return defaults[0]
    raise errors.internal_server_error(
        f"no integration response matches {selection!r} and there is no default integration response"
    )


def response_template(integration_response: Any, accept: str | None) -> tuple[str, str | None]:
    """(content type, template) chosen by the first Accept type, then JSON, then the first."""
    return content.choose_template(dict(integration_response.response_templates or {}), accept) or (JSON, None)


def _mapped_headers(integration_response: Any, payload: bytes) -> list[tuple[str, str]]:
    """Method response headers from responseParameters: 'literals' and integration.response.body[.path]."""
    headers = []
    for target, source in (integration_response.response_parameters or {}).items():
        if not target.startswith(_PARAM_HEADER):
            continue
        name = target[len(_PARAM_HEADER):]
        source = str(source)
        if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
            headers.append((name, source[1:-1]))
        elif source == _BODY_SOURCE:
            headers.append((name, payload.decode("utf-8", errors="replace")))
        elif source.startswith(_BODY_SOURCE + "."):
            json_path = "$" + source[len(_BODY_SOURCE):]
            value = vtl.InputVariable(payload.decode("utf-8", errors="replace"), {}).path(json_path)
            if value is not None:
                headers.append((name, vtl.java_str(value)))
        else:
            log.warning("responseParameters source %r is not emulated; header %s not set", source, name)
    return headers


def _with_content_type(headers: list[tuple[str, str]], default: str) -> list[tuple[str, str]]:
    """A Content-Type mapped by responseParameters or a template override wins over the default."""
    if any(name.lower() == "content-type" for name, _ in headers):
        return headers
    return [*headers, ("Content-Type", default)]


def _integration_response(invocation: Invocation, integration: Any, selection: str, payload: bytes) -> ApiResponse:
    """Non-proxy response: select by pattern, convert or map the body, set status and headers."""
    chosen = select_integration_response(integration, selection)
    status = int(chosen.status_code)
    headers = _mapped_headers(chosen, payload)
    accept = invocation.request.header("Accept")
    accept_is_binary = content.is_binary(content.first_accept(accept), invocation.stage.api.binary_media_types)
    if content.response_to_binary(accept_is_binary, chosen.content_handling):
        # A conversion to binary takes the payload as base64 text; no template applies.
        body = content.b64decode_or_fail(content.unwrap_json_string(payload))
        return ApiResponse(status=status, headers=_with_content_type(headers, JSON), body=body)
    content_type, template = response_template(chosen, accept)
    if not template:
        return ApiResponse(status=status, headers=_with_content_type(headers, content_type), body=payload)
    rendered = _render(invocation, template, payload.decode("utf-8", errors="replace"))
    overridden = {name.lower() for name in rendered.header_overrides}
    headers = [(name, value) for name, value in headers if name.lower() not in overridden]
    headers += list(rendered.header_overrides.items())
    return ApiResponse(status=rendered.status_override or status, headers=_with_content_type(headers, content_type),
                       body=rendered.text.encode("utf-8"))


def _aws_proxy(invocation: Invocation, integration: Any, invoker: LambdaInvoker) -> ApiResponse:
    binary_media_types = invocation.stage.api.binary_media_types
    event = proxy.build_event(invocation, binary_media_types)
    result = _invoke_lambda(invocation, integration, json.dumps(event).encode("utf-8"), invoker)
    accept_is_binary = content.is_binary(
        content.first_accept(invocation.request.header("Accept")), binary_media_types)
    return proxy.map_response(result.payload, result.function_error, accept_is_binary)


def _integration_payload(invocation: Invocation, integration: Any) -> bytes:
    """The integration request body: converted per contentHandling, then mapped by a template."""
    request = invocation.request
    content_type = request.header("Content-Type")
    binary = content.is_binary(content.media_type(content_type), invocation.stage.api.binary_media_types)
    body, still_binary = content.integration_request_body(request.body, binary, integration.content_handling)
    if still_binary:
        return body  # binary payloads pass through; templates only ever see text
    template = request_template(integration, content_type)
    if template is None:
        return body
    return _render(invocation, template, body.decode("utf-8", errors="replace")).text.encode("utf-8")


def _aws_lambda(invocation: Invocation, integration: Any, invoker: LambdaInvoker) -> ApiResponse:
    payload = _integration_payload(invocation, integration) or b"{}"
    result = _invoke_lambda(invocation, integration, payload, invoker)
    selection = ""
    if result.function_error:
        try:
            document = json.loads(result.payload)
            selection = str(document.get("errorMessage", "")) if isinstance(document, dict) else ""
        except (ValueError, UnicodeDecodeError):
            selection = ""
    return _integration_response(invocation, integration, selection, result.payload)


def _mock(invocation: Invocation, integration: Any) -> ApiResponse:
    status = 200
    template = request_template(integration, invocation.request.header("Content-Type"))
    if template:
        text = _render(invocation, template, invocation.request.body.decode("utf-8", errors="replace")).text
        try:
            document = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise errors.internal_server_error(f"MOCK request template did not produce JSON: {exc}") from exc
        if isinstance(document, dict) and document.get("statusCode") is not None:
            status = document["statusCode"]
    return _integration_response(invocation, integration, str(status), b"")


def run(invocation: Invocation, invoker: LambdaInvoker) -> ApiResponse:
    """Dispatch to the method's integration."""
    integration = invocation.route.method.method_integration
    if integration is None:
        raise errors.internal_server_error("the method has no integration")
    kind = (integration.integration_type or "").upper()
    if kind == "AWS_PROXY":
        return _aws_proxy(invocation, integration, invoker)
    if kind == "AWS" and lambda_target(integration.uri, invocation.stage_variables) is not None:
        return _aws_lambda(invocation, integration, invoker)
    if kind == "MOCK":
        return _mock(invocation, integration)
    raise errors.internal_server_error(
        f"integration type {kind} ({integration.uri}) is not emulated by the local cloud; "
        "use AWS_PROXY or AWS with a Lambda function, or MOCK"
    )
