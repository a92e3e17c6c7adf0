"""Least-privilege IAM policies: each role may do only what its function needs, on exact ARNs.

The notebooks print these documents, so a learner sees why each statement is there. No
``*FullAccess`` managed policy is used anywhere. The one ``"Resource": "*"`` is
rekognition:DetectLabels, which has no resource type to name (see AWS's Service
Authorization Reference for Amazon Rekognition).
"""

from __future__ import annotations

import json
from typing import Any

from .names import Names

Statement = dict[str, Any]

TRUST = {
    "lambda": "lambda.amazonaws.com",
    "states": "states.amazonaws.com",
}


def trust_policy(names: Names, service: str) -> str:
    """Who may assume the role: the service, and only on behalf of this account (confused deputy).

    ``aws:SourceAccount`` on both: the service may assume the role only for a resource of this
    account, never because another account's function or state machine names this role.
    Step Functions also documents ``aws:SourceArn``: the state machines of this account and
    region. Lambda documents no ``aws:SourceArn`` for assuming an execution role, so none is set.
    """
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": names.account_id}}
    if service == "states":
        condition["ArnLike"] = {
            "aws:SourceArn": f"arn:{names.partition}:states:{names.region}:{names.account_id}:stateMachine:*"}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": TRUST[service]}, "Action": "sts:AssumeRole",
                 "Condition": condition}
            ],
        }
    )


def bucket_policy(names: Names) -> dict[str, Any]:
    """Refuse any request to the bucket that does not come over TLS (aws:SecureTransport false).

    A Deny for every principal: it overrides any Allow, and S3 does not count it as public
    (Block Public Access stays on). Presigned POSTs, boto3 and Rekognition all use HTTPS.
    """
    return document([{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [names.bucket_arn, f"{names.bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }])


def document(statements: list[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: list[str], resources: list[str]) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _logs(names: Names, key: str) -> list[Statement]:
    # helpers.lambdas creates the log group (tagged, with a retention): the function only writes.
    return [_allow("OwnLogStreams", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{names.log_group_arn(key)}:*"])]


def image_uploader(names: Names) -> dict[str, Any]:
    return document(
        [
            # staging/: bytes the api-receiver staged; uploads/: images uploaded straight to S3 (07).
            _allow("ReadAndRemoveStagedBytes", ["s3:GetObject", "s3:DeleteObject"],
                   [f"{names.bucket_arn}/staging/*", f"{names.bucket_arn}/uploads/*"]),
            _allow("StoreImages", ["s3:PutObject"], [f"{names.bucket_arn}/images/*"]),
            # HeadObject on a stored image, so a retried upload finds what an earlier attempt stored.
            _allow("FindStoredImages", ["s3:GetObject"], [f"{names.bucket_arn}/images/*"]),
            *_logs(names, "image_uploader"),
        ]
    )


def label_detector(names: Names) -> dict[str, Any]:
    return document(
        [
            # DetectLabels names no resource; Rekognition reads the object with our permission.
            _allow("DetectLabels", ["rekognition:DetectLabels"], ["*"]),
            _allow("ReadStoredImages", ["s3:GetObject"], [f"{names.bucket_arn}/images/*"]),
            *_logs(names, "label_detector"),
        ]
    )


def result_store(names: Names) -> dict[str, Any]:
    return document(
        [
            # UpdateItem, not PutItem: the final status is added to the api-receiver's PROCESSING
            # record, keeping its created_at; a refused (conditional) update returns the record as it is.
            _allow("WriteResults", ["dynamodb:UpdateItem"], [names.table_arn]),
            *_logs(names, "result_store"),
        ]
    )


def api_receiver(names: Names) -> dict[str, Any]:
    return document(
        [
            _allow("StageUploads", ["s3:PutObject"], [f"{names.bucket_arn}/staging/*"]),
            # A presigned POST acts with the signer's permissions: the client may put under uploads/ only.
            _allow("SignUploads", ["s3:PutObject"], [f"{names.bucket_arn}/uploads/*"]),
            _allow("ReadAndOpenRecords", ["dynamodb:GetItem", "dynamodb:PutItem"], [names.table_arn]),
            _allow("StartPipeline", ["states:StartExecution"], [names.state_machine_arn]),
            *_logs(names, "api_receiver"),
        ]
    )


def upload_receiver(names: Names) -> dict[str, Any]:
    return document(
        [
            # Read an upload (HeadObject needs s3:GetObject too); delete it when refused or already known.
            _allow("ReadAndRemoveUploads", ["s3:GetObject", "s3:DeleteObject"], [f"{names.bucket_arn}/uploads/*"]),
            _allow("ReadAndOpenRecords", ["dynamodb:GetItem", "dynamodb:PutItem"], [names.table_arn]),
            _allow("StartPipeline", ["states:StartExecution"], [names.state_machine_arn]),
            *_logs(names, "upload_receiver"),
        ]
    )


def state_machine(names: Names) -> dict[str, Any]:
    functions = [names.function_arn(key) for key in ("image_uploader", "label_detector", "result_store")]
    # ":*" covers a version or alias of the same function, which lambda:invoke may name.
    return document([_allow("InvokePipelineFunctions", ["lambda:InvokeFunction"],
                            functions + [f"{arn}:*" for arn in functions])])


FOR_ROLE = {
    "image_uploader": image_uploader,
    "label_detector": label_detector,
    "result_store": result_store,
    "api_receiver": api_receiver,
    "upload_receiver": upload_receiver,
    "state_machine": state_machine,
}
