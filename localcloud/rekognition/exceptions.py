"""Rekognition errors as AWS puts them on the wire; moto 5.2.5 defines none for Rekognition.

Two families, because AWS answers in two shapes (both HTTP 400, JSON 1.1):

* the service's own exceptions carry ``__type``, ``Code``, ``Logref`` and ``Message``
  (the shape shown in the Rekognition Developer Guide, "Error handling");
* request validation, done before the service runs, answers ``ValidationException``
  with ``__type`` and a lower-case ``message``, as every Coral-based AWS JSON service does.

botocore reads the code from ``__type`` and the message from ``message`` or ``Message``,
so boto3 sees the same ``Error.Code`` / ``Error.Message`` as against AWS.
"""

from __future__ import annotations

import json

from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

# The message AWS documents for every S3 problem (missing bucket, key or version,
# another region, no permission); it deliberately doesn't say which one.
S3_OBJECT_MESSAGE = (
    "Unable to get object metadata from S3. Check object key, region and/or access permissions."
)
IMAGE_FORMAT_MESSAGE = "Request has invalid image format"
# As reported for DetectLabels on an image below the minimum dimensions (botocore#1366).
INVALID_PARAMETERS_MESSAGE = "Request has Invalid Parameters"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


class RekognitionServiceError(JsonRESTError):
    """An exception raised by the Rekognition service itself, with AWS's body fields."""

    code = 400
    error_type = ""

    def __init__(self, message: str) -> None:
        super().__init__(self.error_type, message)
        # Logref is AWS's per-error reference; moto's random keeps it seedable.
        self.description = json.dumps(
            {
                "__type": self.error_type,
                "Code": self.error_type,
                "Logref": str(mock_random.uuid4()),
                "Message": message,
            }
        )
        self.content_type = JSON_CONTENT_TYPE


class InvalidS3ObjectException(RekognitionServiceError):
    error_type = "InvalidS3ObjectException"

    def __init__(self, message: str = S3_OBJECT_MESSAGE) -> None:
        super().__init__(message)


class InvalidImageFormatException(RekognitionServiceError):
    error_type = "InvalidImageFormatException"

    def __init__(self, message: str = IMAGE_FORMAT_MESSAGE) -> None:
        super().__init__(message)


class ImageTooLargeException(RekognitionServiceError):
    error_type = "ImageTooLargeException"


class InvalidParameterException(RekognitionServiceError):
    error_type = "InvalidParameterException"

    def __init__(self, message: str = INVALID_PARAMETERS_MESSAGE) -> None:
        super().__init__(message)


class ValidationException(JsonRESTError):
    """A request that breaks the API model's constraints, rejected before the service runs."""

    code = 400

    def __init__(self, violations: list[str]) -> None:
        count = len(violations)
        noun = "error" if count == 1 else "errors"
        super().__init__(
            "ValidationException", f"{count} validation {noun} detected: " + "; ".join(violations)
        )
        self.content_type = JSON_CONTENT_TYPE
        self.violations = violations


class SerializationException(JsonRESTError):
    """A request body AWS cannot even read into the API model (wrong JSON types, bad base64)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message)
        self.content_type = JSON_CONTENT_TYPE


class LabelModelNotInstalled(RekognitionServiceError):
    """The local cloud runs without its label model (not installed); not an AWS error.

    501, which botocore does not retry: the answer will not change until the model is installed.
    """

    code = 501
    error_type = "LabelModelNotInstalled"
