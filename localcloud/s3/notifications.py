"""S3 checks, when a bucket's notifications name a function, that the function lets S3 invoke it.

On AWS, ``PutBucketNotificationConfiguration`` with a Lambda destination whose resource-based
policy does not allow ``s3.amazonaws.com`` (from this bucket, for this account) is refused:
``400 InvalidArgument`` "Unable to validate the following destination configurations", with
the function's ARN and why in ``ArgumentName1``/``ArgumentValue1``. Hence the order every guide
gives: ``lambda add_permission`` first, then the notification. (A permission removed later makes
S3 drop the events silently: ``s3/__init__.py``'s delivery hook.)
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from typing import Any

from .. import config
from ..wsgi_input import buffer_body
from . import exceptions

MESSAGE = "Unable to validate the following destination configurations"


def _functions(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return []  # moto answers a malformed document itself
    return [(element.text or "").strip() for element in root.iter()
            if element.tag.rsplit("}", 1)[-1] == "CloudFunction"]


def check(environ: dict[str, Any], start_response: Callable[..., Any], bucket: str) -> Iterable[bytes] | None:
    """S3's InvalidArgument for a notification naming a function S3 may not invoke, else None."""
    from ..iam.enforce import ENFORCER

    refused = [arn for arn in _functions(buffer_body(environ))
               if not ENFORCER.service_may_invoke(arn, "s3.amazonaws.com", source_arn=f"arn:aws:s3:::{bucket}",
                                                  source_account=config.ACCOUNT_ID)]
    if not refused:
        return None
    details: dict[str, object] = {}
    for number, arn in enumerate(refused, 1):
        details[f"ArgumentName{number}"] = arn
        details[f"ArgumentValue{number}"] = f"Not authorized to invoke function [{arn}]"
    status, headers, document = exceptions.S3Error(400, "InvalidArgument", MESSAGE, **details).response()
    start_response(status, headers)
    return [document]
