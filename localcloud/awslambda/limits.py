"""Lambda's deployment package limits, checked when code is uploaded, as Lambda checks them.

moto stores any bytes as a function's code and any size. Lambda refuses, with its own
errors (messages as AWS words them):

- a zip uploaded in the request over 50 MB: 413 ``RequestEntityTooLargeException``
  "Zipped size must be smaller than 52428800 bytes"; a request body over 70167211 bytes
  (50 MB in base64 with room for the rest): "Request must be smaller than 70167211 bytes
  for the CreateFunction operation" (UpdateFunctionCode and PublishLayerVersion name
  themselves). The wording and figures are those AWS has answered since late 2023, as
  LocalStack's tests recorded against AWS (before: only the request check, at 69905067).
  :func:`check_request` answers the request check from the Content-Length before the body
  is read; the hooks check the zip;
- bytes that are not a zip: 400 ``InvalidParameterValueException`` "Could not unzip
  uploaded file. Please check your file, then try to upload again.";
- code that unzips to more than 262144000 bytes: "Unzipped size must be smaller than
  262144000 bytes"; with its layers: "Function code combined with layers exceeds the
  maximum allowed size of 262144000 bytes. The actual size is N bytes."

The sizes are read from the zip's central directory; nothing is extracted here. A layer's
size is remembered on moto's LayerVersion, so a function with layers does not re-read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from . import packages

MAX_ZIPPED_BYTES = 52428800  # "50 MB (zipped, when uploaded through the Lambda API or SDKs)"
MAX_REQUEST_BYTES = 70167211  # the request limit Lambda's message names
UNZIPPED_ATTRIBUTE = "_localcloud_unzipped_size"


class RequestEntityTooLarge(LambdaClientError):
    code = 413

    def __init__(self, message: str) -> None:
        super().__init__("RequestEntityTooLargeException", message)


def request_too_large(operation: str) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the {operation} operation")


def zip_too_large() -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes")


class InvalidParameterValue(LambdaClientError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


def not_a_zip() -> InvalidParameterValue:
    return InvalidParameterValue("Could not unzip uploaded file. Please check your file, then try to upload again.")


def unzipped_size(zip_bytes: bytes) -> int:
    """The package's declared unzipped size; Lambda's errors for one that is not a zip or too large."""
    try:
        size = packages.unzipped_size(zip_bytes)
    except packages.InvalidPackage:
        raise not_a_zip() from None
    if size > packages.MAX_UNZIPPED_BYTES:
        raise InvalidParameterValue(f"Unzipped size must be smaller than {packages.MAX_UNZIPPED_BYTES} bytes")
    return size


def check_combined(code_size: int, layer_sizes: Iterable[int]) -> None:
    total = code_size + sum(layer_sizes)
    if total > packages.MAX_UNZIPPED_BYTES:
        raise InvalidParameterValue(
            f"Function code combined with layers exceeds the maximum allowed size of "
            f"{packages.MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )


def _decoded_size(zip_file: Any) -> int:
    """Size of the ZipFile parameter once decoded, from its base64 length (no second copy)."""
    if isinstance(zip_file, (bytes, bytearray)):
        text = bytes(zip_file)
    else:
        text = str(zip_file).encode("ascii", "ignore")
    return len(text.rstrip(b"=")) * 3 // 4


def layer_size(layer: Any) -> int:
    size = getattr(layer, UNZIPPED_ATTRIBUTE, None)
    if size is None:
        size = unzipped_size(getattr(layer, "code_bytes", b"") or b"")
        setattr(layer, UNZIPPED_ATTRIBUTE, size)
    return size


def _function_layer_sizes(fn: Any) -> list[int]:
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    sizes = []
    for layer in fn.layers or []:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is not None:
            sizes.append(layer_size(version))
    return sizes


_CODE_STATE = ("code_bytes", "code_size", "code_sha_256", "code_digest")


def _checking_function_code(original: Callable[..., Any]) -> Callable[..., Any]:
    def _set_function_code(self: Any, updated_spec: dict[str, Any]) -> None:
        from_update = updated_spec is not self.code
        if "ZipFile" in updated_spec and _decoded_size(updated_spec["ZipFile"]) > MAX_ZIPPED_BYTES:
            raise zip_too_large()
        # On a refused update the function keeps its code, as on Lambda: put moto's state back.
        saved = {name: getattr(self, name) for name in _CODE_STATE if hasattr(self, name)}
        saved_code = dict(self.code) if from_update else None
        original(self, updated_spec)
        if getattr(self, "package_type", "Zip") != "Zip" or not getattr(self, "code_bytes", b""):
            return  # an image, or an S3 object moto could not find (its own rules apply)
        try:
            check_combined(unzipped_size(self.code_bytes), _function_layer_sizes(self))
        except LambdaClientError:
            if from_update:
                for name, value in saved.items():
                    setattr(self, name, value)
                self.code.clear()
                self.code.update(saved_code or {})
            raise

    return _set_function_code


def _checking_layer(original: Callable[..., Any]) -> Callable[..., Any]:
    def __init__(self: Any, spec: dict[str, Any], account_id: str, region: str) -> None:
        content = spec.get("Content") or {}
        if "ZipFile" in content and _decoded_size(content["ZipFile"]) > MAX_ZIPPED_BYTES:
            raise zip_too_large()
        original(self, spec, account_id, region)
        if getattr(self, "code_bytes", b""):
            setattr(self, UNZIPPED_ATTRIBUTE, unzipped_size(self.code_bytes))
            # moto keeps the upload's base64 text beside the decoded bytes and never reads it
            # again: for the Pillow layer, 9 MB per learner held for the server's life.
            getattr(self, "content", {}).pop("ZipFile", None)

    return __init__


# The Lambda control-plane calls that carry a package in their body.
_UPLOADS = (
    ("POST", re.compile(r"^/[^/]+/functions/?$"), "CreateFunction"),
    ("PUT", re.compile(r"^/[^/]+/functions/[^/]+/code/?$"), "UpdateFunctionCode"),
    ("POST", re.compile(r"^/[^/]+/layers/[^/]+/versions/?$"), "PublishLayerVersion"),
)


def check_request(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
    """For the front door: Lambda's 413 for an upload whose Content-Length is over the limit,
    answered before its body is read; None for every other request."""
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= MAX_REQUEST_BYTES:
        return None
    for verb, pattern, operation in _UPLOADS:
        if method == verb and pattern.match(path):
            error = request_too_large(operation)
            start_response("413 Request Entity Too Large",
                           [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.error_type),
                            # the body stays unread: the connection cannot carry another request
                            ("Connection", "close")])
            return [error.get_body().encode()]
    return None

