"""The responses API Gateway itself produces (gateway responses), as the data plane raises them.

Each one carries the exact body, status and ``x-amzn-ErrorType`` AWS sends, so callers that
match on them (notebooks, client libraries) see what they would see on AWS. The bodies differ
in spacing on purpose: AWS renders 4xx gateway responses from its default template
``{"message":$context.error.messageString}`` but its integration 5xx bodies with a space.

Each one also names its gateway response type (``MISSING_AUTHENTICATION_TOKEN``...), the key
an API's own PutGatewayResponse customisation is looked up by (see :mod:`.gateway_responses`),
and the message ``$context.error.message`` holds there. Types and default statuses:
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's hard payload quota for REST APIs

DEFAULT_4XX = "DEFAULT_4XX"
DEFAULT_5XX = "DEFAULT_5XX"


class GatewayError(Exception):
    """A request API Gateway answers itself instead of reaching (or after leaving) the integration."""

    def __init__(
        self,
        status: int,
        body: str,
        *,
        error_type: str | None,
        reason: str,
        response_type: str,
        message: str,
        content_type: str = "application/json",
        customisable: bool = True,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body
        self.error_type = error_type
        self.reason = reason  # for the server log only; AWS never tells the caller
        self.response_type = response_type  # gateway response type: the customisation's key
        self.message = message  # $context.error.message
        self.content_type = content_type
        # False when AWS answers before any API configuration is read (front end, no stage).
        self.customisable = customisable


def missing_authentication_token(reason: str) -> GatewayError:
    """No deployed resource+method matches: AWS hides which part is wrong behind this 403."""
    return GatewayError(
        403,
        '{"message":"Missing Authentication Token"}',
        error_type="MissingAuthenticationTokenException",
        reason=reason,
        response_type="MISSING_AUTHENTICATION_TOKEN",
        message="Missing Authentication Token",
    )


def forbidden(reason: str) -> GatewayError:
    """Unknown API or stage: no deployment, so no customisation can apply (DEFAULT_4XX named only)."""
    return GatewayError(403, '{"message":"Forbidden"}', error_type="ForbiddenException", reason=reason,
                        response_type=DEFAULT_4XX, message="Forbidden", customisable=False)


def invalid_api_key(reason: str) -> GatewayError:
    """A method with apiKeyRequired and no valid key: the same 403 Forbidden, type INVALID_API_KEY."""
    return GatewayError(403, '{"message":"Forbidden"}', error_type="ForbiddenException", reason=reason,
                        response_type="INVALID_API_KEY", message="Forbidden")


# 500: API Gateway's "Execution failed due to configuration error" (no matching integration
# response, bad base64, missing function...), AWS's API_CONFIGURATION_ERROR. 502: the integration
# answered but unusably (malformed proxy response, function error), taken as INTEGRATION_FAILURE.
_INTERNAL_ERROR_TYPES = {500: "API_CONFIGURATION_ERROR", 502: "INTEGRATION_FAILURE"}


def internal_server_error(reason: str, status: int = 500, response_type: str | None = None) -> GatewayError:
    """500 for configuration errors (no integration response, bad base64); 502 for bad Lambda output."""
    return GatewayError(
        status,
        '{"message": "Internal server error"}',
        error_type="InternalServerErrorException",
        reason=reason,
        response_type=response_type or _INTERNAL_ERROR_TYPES.get(status, DEFAULT_5XX),
        message="Internal server error",
    )


def too_many_requests(reason: str) -> GatewayError:
    """The stage's throttling refused the request (its token bucket was empty): THROTTLED, 429."""
    return GatewayError(429, '{"message":"Too Many Requests"}', error_type="TooManyRequestsException",
                        reason=reason, response_type="THROTTLED", message="Too Many Requests")


def request_too_long(reason: str) -> GatewayError:
    """Lambda refused the proxy event as over its 6 MB payload limit: AWS answers 413, not 5xx.

    Seen on AWS: ``413 {"message": "Request Too Long"}`` with ``x-amzn-ErrorType:
    BadRequestException``; no gateway response type is documented for it, so DEFAULT_4XX applies.
    """
    return GatewayError(413, '{"message": "Request Too Long"}', error_type="BadRequestException", reason=reason,
                        response_type=DEFAULT_4XX, message="Request Too Long")


def integration_timeout(timeout_ms: int) -> GatewayError:
    return GatewayError(
        504,
        '{"message": "Endpoint request timed out"}',
        error_type="InternalServerErrorException",
        reason=f"integration did not answer within {timeout_ms} ms",
        response_type="INTEGRATION_TIMEOUT",
        message="Endpoint request timed out",
    )


def unsupported_media_type(content_type: str) -> GatewayError:
    """Passthrough behaviour NEVER / WHEN_NO_TEMPLATES refused a body no template maps."""
    return GatewayError(
        415,
        '{"message":"Unsupported Media Type"}',
        error_type="UnsupportedMediaTypeException",
        reason=f"no request template for content type {content_type!r} and passthrough is not allowed",
        response_type="UNSUPPORTED_MEDIA_TYPE",
        message="Unsupported Media Type",
    )


def request_too_large(size: int) -> GatewayError:
    # AWS's front end rejects the body before API Gateway sees it: plain text, no error type,
    # and a REQUEST_TOO_LARGE customisation is reported not to apply.
    return GatewayError(
        413,
        f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.",
        error_type=None,
        reason=f"request body of {size} bytes is over the {MAX_BODY_BYTES}-byte limit",
        response_type="REQUEST_TOO_LARGE",
        message=f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.",
        content_type="text/plain",
        customisable=False,
    )
