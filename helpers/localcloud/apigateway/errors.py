"""The responses API Gateway itself produces (gateway responses), as the data plane raises them.

Each one carries the exact body, status and ``x-amzn-ErrorType`` AWS sends, so callers that
match on them (notebooks, client libraries) see what they would see on AWS. The bodies differ
in spacing on purpose: AWS renders 4xx gateway responses from its default template
``{"message":$context.error.messageString}`` but its integration 5xx bodies with a space.
"""

from __future__ import annotations

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's hard payload quota for REST APIs


class GatewayError(Exception):
    """A request API Gateway answers itself instead of reaching (or after leaving) the integration."""

    def __init__(
        self,
        status: int,
        body: str,
        *,
        error_type: str | None,
        reason: str,
        content_type: str = "application/json",
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body
        self.error_type = error_type
        self.reason = reason  # for the server log only; AWS never tells the caller
        self.content_type = content_type


def missing_authentication_token(reason: str) -> GatewayError:
    """No deployed resource+method matches: AWS hides which part is wrong behind this 403."""
    return GatewayError(
        403,
        '{"message":"Missing Authentication Token"}',
        error_type="MissingAuthenticationTokenException",
        reason=reason,
    )


def forbidden(reason: str) -> GatewayError:
    """Unknown API or stage, or a missing/invalid API key."""
    return GatewayError(403, '{"message":"Forbidden"}', error_type="ForbiddenException", reason=reason)


def internal_server_error(reason: str, status: int = 500) -> GatewayError:
    """500 for configuration errors (no integration response, bad base64); 502 for bad Lambda output."""
    return GatewayError(
        status,
        '{"message": "Internal server error"}',
        error_type="InternalServerErrorException",
        reason=reason,
    )


def integration_timeout(timeout_ms: int) -> GatewayError:
    return GatewayError(
        504,
        '{"message": "Endpoint request timed out"}',
        error_type="InternalServerErrorException",
        reason=f"integration did not answer within {timeout_ms} ms",
    )


def unsupported_media_type(content_type: str) -> GatewayError:
    """Passthrough behaviour NEVER / WHEN_NO_TEMPLATES refused a body no template maps."""
    return GatewayError(
        415,
        '{"message":"Unsupported Media Type"}',
        error_type="UnsupportedMediaTypeException",
        reason=f"no request template for content type {content_type!r} and passthrough is not allowed",
    )


def request_too_large(size: int) -> GatewayError:
    # AWS's front end rejects the body before API Gateway sees it: plain text, no error type.
    return GatewayError(
        413,
        f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.",
        error_type=None,
        reason=f"request body of {size} bytes is over the {MAX_BODY_BYTES}-byte limit",
        content_type="text/plain",
    )
