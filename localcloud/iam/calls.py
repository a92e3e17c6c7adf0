"""Which IAM actions a request needs, on which resource ARNs: the question IAM is asked.

:func:`describe` reads a signed request (service from its credential scope, operation from
``X-Amz-Target``, the REST path or the query's ``Action``) and returns the
:class:`Check` list AWS makes for it, following the Service Authorization Reference:

- S3: REST method, path and sub-resource; ``HeadObject`` needs ``s3:GetObject``;
  ``CopyObject`` needs ``s3:GetObject`` on the source and ``s3:PutObject`` on the target;
  ``DeleteObjects`` needs ``s3:DeleteObject`` on each key; multipart parts need ``s3:PutObject``.
- DynamoDB: the operation on the table ARN (``/index/NAME`` for a Query or Scan of an index);
  batch and transaction calls on each table and item action they contain.
- Lambda: ``Invoke`` is ``lambda:InvokeFunction`` on the (qualified) function ARN; layers on
  the layer (version) ARN.
- Step Functions, CloudWatch Logs, STS, IAM: the operation on the ARN its parameters name.
- Rekognition: ``rekognition:DetectLabels`` on ``*`` (it has no resource type), and, done by
  Rekognition with the caller's permissions, ``s3:GetObject`` on the ``S3Object``; a refusal of
  that one is Rekognition's ``InvalidS3ObjectException``, not AccessDenied.

A request this module does not recognise gives ``None``: it is not evaluated (and the caller
logs it once), rather than refused for a reason AWS would not give.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from .. import wsgi_input
from ..auth import sigv4
from ..wsgi_input import buffer_body, json_body


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    # When a refusal is not AccessDenied: (code, status, message), e.g. Rekognition's S3 read.
    refusal: tuple[str, int, str] | None = None


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    region: str
    checks: tuple[Check, ...]
    context: dict[str, Any] = field(default_factory=dict)
    # S3 GetObject/HeadObject: (bucket, key), for the missing-key rule (403 without s3:ListBucket).
    object_read: tuple[str, str] | None = None


class Arns:
    """The ARN shapes of the services the workbook uses, for one account, region and partition."""

    def __init__(self, account: str, region: str, partition: str = "aws") -> None:
        self.account, self.region, self.partition = account, region, partition

    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")

    def bucket(self, bucket: str) -> str:
        return self._arn("s3", bucket, region=False, account=False)

    def object(self, bucket: str, key: str) -> str:
        return self._arn("s3", f"{bucket}/{key}", region=False, account=False)

    def table(self, table: str, index: str | None = None) -> str:
        if table.startswith("arn:"):
            return table if index is None else f"{table}/index/{index}"
        return self._arn("dynamodb", f"table/{table}" + (f"/index/{index}" if index else ""))

    def function(self, name: str, qualifier: str | None = None) -> str:
        parts = name.split(":")
        if name.startswith("arn:"):
            arn = name
        elif len(parts) <= 2:  # "NAME" or "NAME:QUALIFIER"
            arn = self._arn("lambda", f"function:{name}")
        else:  # "ACCOUNT:function:NAME[:QUALIFIER]"
            arn = f"arn:{self.partition}:lambda:{self.region}:{name}"
        if qualifier and arn.count(":") == 6:
            arn += f":{qualifier}"
        return arn

    def layer(self, name: str, version: str | None = None) -> str:
        arn = name if name.startswith("arn:") else self._arn("lambda", f"layer:{name}")
        return arn + (f":{version}" if version else "")

    def state_machine(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("states", f"stateMachine:{name}")

    def log_group(self, group: str, stream: str | None = None) -> str:
        return self._arn("logs", f"log-group:{group}" + (f":log-stream:{stream}" if stream else ""))

    def role(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("iam", f"role/{name}", region=False)


def describe(environ: dict[str, Any], account: str) -> Call | None:
    """The checks a signed request needs, or None when it is not recognised."""
    found = sigv4.scope(environ)
    if found is None:
        return None
    region, service = found
    arns = Arns(account, region)
    seen = wsgi_input.request(environ)
    method, path, query, operation = seen.method, seen.path, seen.query, seen.json_operation
    if operation is not None:
        body = json_body(environ)
        describer = _JSON_SERVICES.get(service)
        if describer is None:
            return None
        checks = describer(operation, body, arns)
        context = {"dynamodb:ReturnValues": body["ReturnValues"]} if isinstance(body.get("ReturnValues"), str) else {}
        return Call(service, operation, region, tuple(checks), context) if checks is not None else None
    if service == "s3":
        return _s3(method, path, query, environ, arns, region)
    if service == "lambda":
        return _lambda(method, path, query, environ, arns, region)
    if service in ("sts", "iam"):
        form = query if "Action" in query else parse_qs(buffer_body(environ).decode("utf-8", "replace"))
        operation = (form.get("Action") or [""])[0]
        if not operation:
            return None
        params = {k: v[0] for k, v in form.items() if v}
        checks = _query_service(service, operation, params, arns)
        return Call(service, operation, region, tuple(checks)) if checks is not None else None
    return None


# --- JSON services ------------------------------------------------------------------------

_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _dynamodb(operation: str, body: dict[str, Any], arns: Arns) -> list[Check] | None:
    action = f"dynamodb:{operation}"
    if operation in ("ListTables", "DescribeLimits", "ListBackups", "ListGlobalTables"):
        return [Check(action, "*")]
    if operation == "DescribeEndpoints":
        return []  # needs no permission
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Check(action, arns.table(str(name))) for name in (body.get("RequestItems") or {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for item in body.get("TransactItems") or []:
            for kind, request in (item.items() if isinstance(item, dict) else []):
                if isinstance(request, dict) and kind in _TRANSACT_ACTIONS:
                    action = f"dynamodb:{_TRANSACT_ACTIONS[kind]}"
                    checks.append(Check(action, arns.table(str(request.get("TableName")))))
        return checks
    if operation in ("TagResource", "UntagResource", "ListTagsOfResource"):
        return [Check(action, str(body.get("ResourceArn", "*")))]
    table = body.get("TableName")
    if not isinstance(table, str):
        return None
    index = body.get("IndexName") if operation in ("Query", "Scan") else None
    return [Check(action, arns.table(table, index if isinstance(index, str) else None))]


# Step Functions and CloudWatch Logs tag by resourceArn.
_TAGGING = ("TagResource", "UntagResource", "ListTagsForResource")
_STATE_MACHINE_OPS = {"StartExecution", "StartSyncExecution", "DescribeStateMachine", "UpdateStateMachine",
                      "DeleteStateMachine", "ListExecutions", "ValidateStateMachineDefinition"}
_EXECUTION_OPS = {"DescribeExecution", "StopExecution", "GetExecutionHistory", "DescribeStateMachineForExecution",
                  "RedriveExecution"}


def _states(operation: str, body: dict[str, Any], arns: Arns) -> list[Check] | None:
    action = f"states:{operation}"
    if operation in _STATE_MACHINE_OPS and isinstance(body.get("stateMachineArn"), str):
        return [Check(action, body["stateMachineArn"])]
    if operation in _EXECUTION_OPS and isinstance(body.get("executionArn"), str):
        return [Check(action, body["executionArn"])]
    if operation == "CreateStateMachine" and isinstance(body.get("name"), str):
        return [Check(action, arns.state_machine(body["name"]))]
    if operation in _TAGGING and isinstance(body.get("resourceArn"), str):
        return [Check(action, body["resourceArn"])]
    if operation in ("ListStateMachines", "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat",
                     "ListActivities", "TestState"):
        return [Check(action, "*")]
    return None


def _logs(operation: str, body: dict[str, Any], arns: Arns) -> list[Check] | None:
    action = f"logs:{operation}"
    group = body.get("logGroupName")
    if operation == "DescribeLogGroups":
        return [Check(action, arns.log_group("*"))]
    if operation in ("CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream") and isinstance(group, str):
        stream = body.get("logStreamName")
        return [Check(action, arns.log_group(group, stream if isinstance(stream, str) else None))]
    if isinstance(group, str):
        return [Check(action, arns.log_group(group))]
    if operation in _TAGGING and isinstance(body.get("resourceArn"), str):
        return [Check(action, body["resourceArn"])]
    return None


_REKOGNITION_S3_REFUSAL = ("InvalidS3ObjectException", 400,
                           "Unable to get object metadata from S3. Check object key, region and/or access permissions.")


def _rekognition(operation: str, body: dict[str, Any], arns: Arns) -> list[Check] | None:
    checks = [Check(f"rekognition:{operation}", "*")]
    for image_field in ("Image", "SourceImage", "TargetImage"):
        image = body.get(image_field)
        s3_object = image.get("S3Object") if isinstance(image, dict) else None
        if isinstance(s3_object, dict) and isinstance(s3_object.get("Bucket"), str):
            checks.append(Check("s3:GetObject", arns.object(s3_object["Bucket"], str(s3_object.get("Name", ""))),
                                _REKOGNITION_S3_REFUSAL))
    return checks


_JSON_SERVICES = {"dynamodb": _dynamodb, "states": _states, "logs": _logs, "rekognition": _rekognition}


# --- S3 -----------------------------------------------------------------------------------

_BUCKET_SUBRESOURCES = {
    "GET": {"policy": "GetBucketPolicy", "acl": "GetBucketAcl", "tagging": "GetBucketTagging",
            "cors": "GetBucketCORS", "lifecycle": "GetLifecycleConfiguration", "versioning": "GetBucketVersioning",
            "notification": "GetBucketNotification", "encryption": "GetEncryptionConfiguration",
            "publicAccessBlock": "GetBucketPublicAccessBlock", "ownershipControls": "GetBucketOwnershipControls",
            "location": "GetBucketLocation", "versions": "ListBucketVersions", "uploads": "ListBucketMultipartUploads",
            "logging": "GetBucketLogging", "website": "GetBucketWebsite", "policyStatus": "GetBucketPolicyStatus",
            "object-lock": "GetBucketObjectLockConfiguration"},
    "PUT": {"policy": "PutBucketPolicy", "acl": "PutBucketAcl", "tagging": "PutBucketTagging",
            "cors": "PutBucketCORS", "lifecycle": "PutLifecycleConfiguration", "versioning": "PutBucketVersioning",
            "notification": "PutBucketNotification", "encryption": "PutEncryptionConfiguration",
            "publicAccessBlock": "PutBucketPublicAccessBlock", "ownershipControls": "PutBucketOwnershipControls",
            "logging": "PutBucketLogging", "website": "PutBucketWebsite",
            "object-lock": "PutBucketObjectLockConfiguration"},
    "DELETE": {"policy": "DeleteBucketPolicy", "tagging": "PutBucketTagging", "cors": "PutBucketCORS",
               "lifecycle": "PutLifecycleConfiguration", "encryption": "PutEncryptionConfiguration",
               "publicAccessBlock": "PutBucketPublicAccessBlock", "ownershipControls": "PutBucketOwnershipControls",
               "website": "DeleteBucketWebsite"},
}
_BUCKET_PLAIN = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}
_OBJECT_SUBRESOURCES = {
    "GET": {"acl": "GetObjectAcl", "tagging": "GetObjectTagging", "uploadId": "ListMultipartUploadParts",
            "attributes": "GetObjectAttributes", "retention": "GetObjectRetention", "legal-hold": "GetObjectLegalHold"},
    "PUT": {"acl": "PutObjectAcl", "tagging": "PutObjectTagging", "uploadId": "PutObject",
            "retention": "PutObjectRetention", "legal-hold": "PutObjectLegalHold"},
    "DELETE": {"uploadId": "AbortMultipartUpload", "tagging": "DeleteObjectTagging"},
    "POST": {"uploads": "PutObject", "uploadId": "PutObject", "restore": "RestoreObject"},
}


def bucket_and_key(environ: dict[str, Any]) -> tuple[str, str]:
    """Path style (``/bucket/key``), or virtual-host style under ``.localhost``."""
    path = unquote(environ.get("PATH_INFO", ""))
    host = environ.get("HTTP_HOST", "").split(":")[0].lower()
    label = host.removesuffix(".localhost").removesuffix(".s3") if host.endswith(".localhost") else ""
    if label and label not in ("s3", "localhost"):
        return label, path.lstrip("/")
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


def _s3(method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any], arns: Arns,
        region: str) -> Call | None:
    bucket, key = bucket_and_key(environ)
    context: dict[str, Any] = {}
    if not bucket:
        return Call("s3", "ListBuckets", region, (Check("s3:ListAllMyBuckets", "*"),)) if method == "GET" else None
    if not key:
        if method == "POST" and "delete" in query:
            keys = _keys_to_delete(buffer_body(environ))
            return Call("s3", "DeleteObjects", region,
                        tuple(Check("s3:DeleteObject", arns.object(bucket, k)) for k in keys))
        named = next((op for sub, op in _BUCKET_SUBRESOURCES.get(method, {}).items() if sub in query), None)
        operation = named or _BUCKET_PLAIN.get(method)
        if operation is None:
            return None
        if operation == "ListBucket" and "prefix" in query:
            context["s3:prefix"] = query["prefix"][0]
        return Call("s3", operation, region, (Check(f"s3:{operation}", arns.bucket(bucket)),), context)
    versioned = "versionId" in query
    named = next((op for sub, op in _OBJECT_SUBRESOURCES.get(method, {}).items() if sub in query), None)
    if named:
        return Call("s3", named, region, (Check(f"s3:{named}", arns.object(bucket, key)),))
    if method in ("GET", "HEAD"):
        action = "s3:GetObjectVersion" if versioned else "s3:GetObject"
        operation = "GetObject" if method == "GET" else "HeadObject"
        return Call("s3", operation, region, (Check(action, arns.object(bucket, key)),),
                    object_read=None if versioned else (bucket, key))
    if method == "PUT":
        checks = [Check("s3:PutObject", arns.object(bucket, key))]
        source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
        if source:
            source_path, _, version = unquote(source).lstrip("/").partition("?versionId=")
            source_bucket, _, source_key = source_path.partition("/")
            checks.insert(0, Check("s3:GetObjectVersion" if version else "s3:GetObject",
                                   arns.object(source_bucket, source_key)))
        return Call("s3", "CopyObject" if source else "PutObject", region, tuple(checks))
    if method == "DELETE":
        action = "s3:DeleteObjectVersion" if versioned else "s3:DeleteObject"
        return Call("s3", "DeleteObject", region, (Check(action, arns.object(bucket, key)),))
    return None


def _keys_to_delete(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return []
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"]


# --- Lambda -------------------------------------------------------------------------------

_FUNCTION = r"/[^/]+/functions/(?P<name>[^/]+)"
_LAMBDA_ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
    # (method, path, operation, IAM action)
    ("POST", re.compile(rf"^{_FUNCTION}/invocations/?$"), "Invoke", "InvokeFunction"),
    ("POST", re.compile(rf"^{_FUNCTION}/invoke-async/?$"), "InvokeAsync", "InvokeFunction"),
    ("GET", re.compile(rf"^{_FUNCTION}/configuration/?$"), "GetFunctionConfiguration", "GetFunctionConfiguration"),
    ("PUT", re.compile(rf"^{_FUNCTION}/configuration/?$"), "UpdateFunctionConfiguration",
     "UpdateFunctionConfiguration"),
    ("PUT", re.compile(rf"^{_FUNCTION}/code/?$"), "UpdateFunctionCode", "UpdateFunctionCode"),
    ("GET", re.compile(rf"^{_FUNCTION}/policy/?$"), "GetPolicy", "GetPolicy"),
    ("POST", re.compile(rf"^{_FUNCTION}/policy/?$"), "AddPermission", "AddPermission"),
    ("DELETE", re.compile(rf"^{_FUNCTION}/policy/[^/]+/?$"), "RemovePermission", "RemovePermission"),
    ("POST", re.compile(rf"^{_FUNCTION}/versions/?$"), "PublishVersion", "PublishVersion"),
    ("GET", re.compile(rf"^{_FUNCTION}/versions/?$"), "ListVersionsByFunction", "ListVersionsByFunction"),
    ("PUT", re.compile(rf"^{_FUNCTION}/concurrency/?$"), "PutFunctionConcurrency", "PutFunctionConcurrency"),
    ("GET", re.compile(rf"^{_FUNCTION}/?$"), "GetFunction", "GetFunction"),
    ("DELETE", re.compile(rf"^{_FUNCTION}/?$"), "DeleteFunction", "DeleteFunction"),
]
_LAYER_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/[^/]+/layers/(?P<name>[^/]+)/versions/?$"), "PublishLayerVersion"),
    ("GET", re.compile(r"^/[^/]+/layers/(?P<name>[^/]+)/versions/?$"), "ListLayerVersions"),
    ("GET", re.compile(r"^/[^/]+/layers/(?P<name>[^/]+)/versions/(?P<version>\d+)/?$"), "GetLayerVersion"),
    ("DELETE", re.compile(r"^/[^/]+/layers/(?P<name>[^/]+)/versions/(?P<version>\d+)/?$"), "DeleteLayerVersion"),
]


def _lambda(method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any], arns: Arns,
            region: str) -> Call | None:
    qualifier = (query.get("Qualifier") or [None])[0]
    for wanted, pattern, operation, action in _LAMBDA_ROUTES:
        match = pattern.match(path)
        if match and method == wanted:
            name = unquote(match["name"])
            resource = arns.function(name, qualifier if action in ("InvokeFunction", "GetFunction",
                                                                   "GetFunctionConfiguration", "GetPolicy") else None)
            return Call("lambda", operation, region, (Check(f"lambda:{action}", resource),))
    for wanted, pattern, operation in _LAYER_ROUTES:
        match = pattern.match(path)
        if match and method == wanted:
            version = match.groupdict().get("version")
            name = unquote(match["name"])
            resource = arns.layer(name, version) if operation != "PublishLayerVersion" else arns.layer(name)
            return Call("lambda", operation, region, (Check(f"lambda:{operation}", resource),))
    if method == "POST" and re.match(r"^/[^/]+/functions/?$", path):
        try:
            name = json.loads(buffer_body(environ) or b"{}").get("FunctionName", "")
        except (ValueError, AttributeError):
            name = ""
        return Call("lambda", "CreateFunction", region, (Check("lambda:CreateFunction", arns.function(str(name))),))
    if method == "GET" and re.match(r"^/[^/]+/(functions|layers|event-source-mappings)/?$", path):
        operation = {"functions": "ListFunctions", "layers": "ListLayers",
                     "event-source-mappings": "ListEventSourceMappings"}[path.strip("/").split("/")[1]]
        return Call("lambda", operation, region, (Check(f"lambda:{operation}", "*"),))
    return None


# --- query protocol: STS and IAM ----------------------------------------------------------

_IAM_RESOURCE_PARAMS = (("RoleName", "role"), ("UserName", "user"), ("GroupName", "group"),
                        ("InstanceProfileName", "instance-profile"))


def _query_service(service: str, operation: str, params: dict[str, str], arns: Arns) -> list[Check] | None:
    if service == "sts":
        if operation == "GetCallerIdentity":
            return []  # needs no permission: AWS answers it even when every action is denied
        if operation in ("AssumeRole", "AssumeRoleWithWebIdentity") and "RoleArn" in params:
            return [Check(f"sts:{operation}", params["RoleArn"])]
        return [Check(f"sts:{operation}", "*")]
    for param, kind in _IAM_RESOURCE_PARAMS:
        if param in params:
            return [Check(f"iam:{operation}", f"arn:{arns.partition}:iam::{arns.account}:{kind}/{params[param]}")]
    if "PolicyArn" in params:
        return [Check(f"iam:{operation}", params["PolicyArn"])]
    if operation == "CreatePolicy" and "PolicyName" in params:
        return [Check(f"iam:{operation}", f"arn:{arns.partition}:iam::{arns.account}:policy/{params['PolicyName']}")]
    return [Check(f"iam:{operation}", "*")]
