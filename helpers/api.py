"""The pipeline's REST API: created or brought up to date idempotently, found by name.

:func:`ensure` builds the API notebook 05 explains, in this order:

1. the REST API named ``wb.names.api`` (found by name, created once), tagged, with the binary
   media types ``image/png``, ``image/jpeg`` and ``multipart/form-data`` so that API Gateway
   hands the receiver raw image bodies base64-encoded instead of mangling them as text;
2. the resources ``/images`` (POST), ``/images/{id}`` (GET) and ``/uploads`` (POST), each a
   Lambda proxy (``AWS_PROXY``) integration with the api-receiver;
3. the api-receiver's resource policy: ``apigateway.amazonaws.com`` may invoke it, only
   from this API and only for those routes (``lambda:AddPermission``, once);
4. gateway responses, so that what API Gateway answers by itself has the receiver's shape
   ``{"error", "message"}`` too: a path or method the API does not have is ``404
   NoSuchRoute`` naming the routes, instead of ``403 {"message": "Missing Authentication Token"}``;
5. a deployment to the stage ``v1``, made only when the stage does not yet serve this
   configuration (the deployment's description carries a fingerprint of it).

Running it again changes nothing and keeps the API's id, so its URL stays the same.
Calling the API as a client (waiting until it answers, waiting for an image) is
:mod:`helpers.pipeline_client`'s.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from . import limits
from .prerequisites import MissingPrerequisite
from .workbook import Workbook

# multipart/form-data: several images in one request (05) are bytes too, not text.
BINARY_MEDIA_TYPES = ("image/png", "image/jpeg", "multipart/form-data")
# (path, method, statement id of the permission that lets this route invoke the receiver)
ROUTES = (("/images", "POST", "post-images"), ("/images/{id}", "GET", "get-image"),
          ("/uploads", "POST", "post-uploads"))
ROUTES_TEXT = "POST /images, POST /uploads and GET /images/{id}"
# API Gateway's own answers in the receiver's shape. Gateway response templates are plain
# $context substitution (no VTL); $context.error.messageString is already a quoted JSON string.
_OWN_SHAPE = '{"error": "$context.error.responseType", "message": $context.error.messageString}'
GATEWAY_RESPONSES = {  # response type -> (status, or None to keep API Gateway's, the JSON template)
    "MISSING_AUTHENTICATION_TOKEN": ("404", '{"error": "NoSuchRoute", "message": "no route for $context.httpMethod '
                                            f'$context.path: this API has {ROUTES_TEXT}"}}'),
    "DEFAULT_4XX": (None, _OWN_SHAPE),
    "DEFAULT_5XX": (None, _OWN_SHAPE),
}
_FINGERPRINT = "workbook configuration "


@dataclass(frozen=True)
class Api:
    id: str
    name: str
    stage: str
    url: str  # the stage's invoke URL, without a trailing slash: POST {url}/images
    changed: bool = False  # ensure: True when something was created, updated or redeployed

    def __repr__(self) -> str:
        what = "deployed" if self.changed else "already up to date"
        return f"{self.name} (stage {self.stage}): {what}\n{self.url}"


# --- finding --------------------------------------------------------------------------------


def _apis_named(wb: Workbook) -> list[dict[str, Any]]:
    pages = wb.client("apigateway").get_paginator("get_rest_apis").paginate()
    return [item for page in pages for item in page.get("items", []) if item.get("name") == wb.names.api]


def invoke_url(wb: Workbook, api_id: str) -> str:
    """The stage's base URL: the local cloud's execute-api path, or AWS's own host name."""
    stage = wb.names.stage
    if wb.is_local:
        return f"{wb.target.endpoint_url}/_aws/execute-api/{api_id}/{stage}"
    suffix = "amazonaws.com.cn" if wb.region.startswith("cn-") else "amazonaws.com"
    return f"https://{api_id}.execute-api.{wb.region}.{suffix}/{stage}"


def find(wb: Workbook) -> Api | None:
    """This prefix's API, or None. Several of the same name (made by hand) are an error."""
    found = _apis_named(wb)
    if not found:
        return None
    if len(found) > 1:
        ids = ", ".join(sorted(item["id"] for item in found))
        raise RuntimeError(f"{len(found)} REST APIs are named {wb.names.api} ({ids}); "
                           "remove the extra ones (api.delete removes them all) and run ensure again")
    return Api(found[0]["id"], wb.names.api, wb.names.stage, invoke_url(wb, found[0]["id"]))


def url_of(wb: Workbook) -> str:
    """The deployed API's base URL, or a MissingPrerequisite naming the notebook to run."""
    api = find(wb)
    if api is None:
        raise MissingPrerequisite(f"the REST API {wb.names.api} does not exist yet: run notebooks/05_api.ipynb first "
                                  "(with the same target, region and prefix)")
    return api.url


# --- building -------------------------------------------------------------------------------


def lambda_uri(wb: Workbook, function_arn: str) -> str:
    """How API Gateway names a Lambda function it invokes (Lambda's Invoke path)."""
    invoke_path = f"path/2015-03-31/functions/{function_arn}/invocations"
    return f"arn:{wb.names.partition}:apigateway:{wb.region}:lambda:{invoke_path}"


def source_arn(wb: Workbook, api_id: str, path: str, method: str) -> str:
    """The execute-api ARN of one route, any stage (the console's Test button uses its own).

    ``/images/{id}`` becomes ``/images/*``: the ARN API Gateway presents carries the actual id.
    """
    n = wb.names
    pattern = "/".join("*" if part.startswith("{") else part for part in path.split("/"))
    return f"arn:{n.partition}:execute-api:{n.region}:{n.account_id}:{api_id}/*/{method}{pattern}"


def _ensure_rest_api(wb: Workbook) -> tuple[str, bool]:
    apigw = wb.client("apigateway")
    found = _apis_named(wb)
    if len(found) > 1:
        find(wb)  # raises, naming the duplicates
    if not found:
        created = apigw.create_rest_api(
            name=wb.names.api,
            description="workbook: POST images, GET their labels",
            binaryMediaTypes=list(BINARY_MEDIA_TYPES),
            endpointConfiguration={"types": ["REGIONAL"]},
            tags=wb.tags,
        )
        return created["id"], True
    current = found[0]
    changed = False
    missing = [t for t in BINARY_MEDIA_TYPES if t not in current.get("binaryMediaTypes", [])]
    if missing:
        # In a patch path "/" is written "~1": /binaryMediaTypes/image~1png.
        apigw.update_rest_api(restApiId=current["id"], patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes/" + t.replace("/", "~1")} for t in missing])
        changed = True
    if any(current.get("tags", {}).get(k) != v for k, v in wb.tags.items()):
        apigw.tag_resource(resourceArn=f"arn:{wb.names.partition}:apigateway:{wb.region}::/restapis/{current['id']}",
                           tags=wb.tags)
    return current["id"], changed


def _resources(wb: Workbook, api_id: str) -> dict[str, dict[str, Any]]:
    pages = wb.client("apigateway").get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
    return {item["path"]: item for page in pages for item in page["items"]}


def _ensure_resource(wb: Workbook, api_id: str, resources: dict[str, dict[str, Any]], path: str) -> str:
    if path in resources:
        return resources[path]["id"]
    parent, _, part = path.rpartition("/")
    parent_id = _ensure_resource(wb, api_id, resources, parent or "/")
    created = wb.client("apigateway").create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)
    resources[path] = {**created, "resourceMethods": {}}
    return created["id"]


def _ensure_method(wb: Workbook, api_id: str, resource: dict[str, Any], method: str, uri: str) -> bool:
    """A method with an AWS_PROXY integration to ``uri``; True when something had to change."""
    apigw = wb.client("apigateway")
    existing = (resource.get("resourceMethods") or {}).get(method)
    changed = False
    if existing is None:  # PutMethod on an existing method is a ConflictException on AWS
        apigw.put_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method, authorizationType="NONE")
        changed = True
    integration = (existing or {}).get("methodIntegration")
    if existing is not None and integration is None:  # not embedded: ask for it
        try:
            integration = apigw.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
        except apigw.exceptions.NotFoundException:
            integration = None
    integration = integration or {}
    wanted = {"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri}
    if any(integration.get(key) != value for key, value in wanted.items()):
        # Lambda is always invoked with POST, whatever the client's method.
        apigw.put_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method,
                              type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
        changed = True
    return changed


def _statements(wb: Workbook, function_arn: str) -> dict[str, dict[str, Any]]:
    lam = wb.client("lambda")
    try:
        policy = json.loads(lam.get_policy(FunctionName=function_arn)["Policy"])
    except lam.exceptions.ResourceNotFoundException:  # no resource policy yet
        return {}
    return {statement.get("Sid", ""): statement for statement in policy.get("Statement", [])}


def _permission_sid(wb: Workbook, route_sid: str) -> str:
    return f"{wb.names.api}-{route_sid}"


def _ensure_permissions(wb: Workbook, api_id: str, function_arn: str) -> bool:
    """Let API Gateway invoke the function from this API's routes only; True when a statement changed."""
    lam = wb.client("lambda")
    statements = _statements(wb, function_arn)
    changed = False
    for path, method, route_sid in ROUTES:
        sid = _permission_sid(wb, route_sid)
        wanted = source_arn(wb, api_id, path, method)
        current = statements.get(sid)
        if current is not None:
            condition = current.get("Condition", {}).get("ArnLike", {})
            if condition.get("AWS:SourceArn") == wanted:
                continue
            lam.remove_permission(FunctionName=function_arn, StatementId=sid)  # an older API's id
        lam.add_permission(FunctionName=function_arn, StatementId=sid, Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com", SourceArn=wanted)
        changed = True
    return changed


def _ensure_gateway_responses(wb: Workbook, api_id: str) -> bool:
    """PutGatewayResponse for each of GATEWAY_RESPONSES that differs; True when one changed."""
    apigw = wb.client("apigateway")
    changed = False
    for response_type, (status, template) in GATEWAY_RESPONSES.items():
        try:
            current = apigw.get_gateway_response(restApiId=api_id, responseType=response_type)
        except apigw.exceptions.NotFoundException:
            current = {}
        wanted = {"responseTemplates": {"application/json": template}, **({"statusCode": status} if status else {})}
        if any(current.get(key) != value for key, value in wanted.items()):
            apigw.put_gateway_response(restApiId=api_id, responseType=response_type, **wanted)
            changed = True
    return changed


def _fingerprint(wb: Workbook, function_arn: str) -> str:
    """Names what a deployment serves; a stage whose deployment has another one is redeployed."""
    config = {"binaryMediaTypes": sorted(BINARY_MEDIA_TYPES), "gatewayResponses": GATEWAY_RESPONSES,
              "routes": [[path, method, "AWS_PROXY", lambda_uri(wb, function_arn)] for path, method, _ in ROUTES]}
    return _FINGERPRINT + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _serves(wb: Workbook, api_id: str, fingerprint: str) -> bool:
    """Whether the stage exists and its deployment was made for this configuration."""
    apigw = wb.client("apigateway")
    try:
        deployment_id = apigw.get_stage(restApiId=api_id, stageName=wb.names.stage)["deploymentId"]
        return apigw.get_deployment(restApiId=api_id, deploymentId=deployment_id).get("description") == fingerprint
    except apigw.exceptions.NotFoundException:
        return False


def ensure(wb: Workbook, function_arn: str) -> Api:
    """Create the REST API in front of ``function_arn`` (the api-receiver), or bring it up to date."""
    api_id, changed = _ensure_rest_api(wb)
    uri = lambda_uri(wb, function_arn)
    resources = _resources(wb, api_id)
    for path, method, _ in ROUTES:
        changed |= path not in resources
        _ensure_resource(wb, api_id, resources, path)
        changed |= _ensure_method(wb, api_id, resources[path], method, uri)
    changed |= _ensure_permissions(wb, api_id, function_arn)
    changed |= _ensure_gateway_responses(wb, api_id)
    # A deployment freezes the API as it is now: edits made after it are not served until the next.
    fingerprint = _fingerprint(wb, function_arn)
    if changed or not _serves(wb, api_id, fingerprint):
        wb.client("apigateway").create_deployment(restApiId=api_id, stageName=wb.names.stage, description=fingerprint)
        changed = True
    if limits.applies(wb):  # on AWS: the stage's rate and burst (helpers/limits.py says why)
        changed |= limits.throttle_stage(wb, api_id)
    return Api(api_id, wb.names.api, wb.names.stage, invoke_url(wb, api_id), changed)


def add_route(wb: Workbook, function_arn: str, method: str, path: str) -> Api:
    """One more route to the api-receiver (an exercise's ``GET /images``), on the API :func:`ensure` built.

    The same four pieces as ensure's routes: the resource, the method with its proxy
    integration, the permission for API Gateway to invoke the function from this route only,
    and a new deployment when one of them changed. ensure keeps routes it does not know,
    so the route stays when ensure runs again; deleting the API (08) removes it.
    """
    current = find(wb)
    if current is None:
        url_of(wb)  # raises, naming the notebook to run
    assert current is not None
    resources = _resources(wb, current.id)
    changed = path not in resources
    _ensure_resource(wb, current.id, resources, path)
    changed |= _ensure_method(wb, current.id, resources[path], method, lambda_uri(wb, function_arn))
    route_sid = f"{method.lower()}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"
    sid = _permission_sid(wb, route_sid)
    wanted = source_arn(wb, current.id, path, method)
    statement = _statements(wb, function_arn).get(sid)
    if statement is None or statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") != wanted:
        lam = wb.client("lambda")
        if statement is not None:
            lam.remove_permission(FunctionName=function_arn, StatementId=sid)
        lam.add_permission(FunctionName=function_arn, StatementId=sid, Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com", SourceArn=wanted)
        changed = True
    if changed:  # ensure redeploys its own configuration later; this deployment serves the route now
        wb.client("apigateway").create_deployment(restApiId=current.id, stageName=wb.names.stage,
                                                  description=f"workbook route {method} {path}")
    return Api(current.id, current.name, current.stage, current.url, changed)


def routes(wb: Workbook) -> list[str]:
    """``METHOD /path -> integration`` for each method the API has (what a learner checks)."""
    api = find(wb)
    if api is None:
        return []
    lines = []
    for path, resource in sorted(_resources(wb, api.id).items()):
        for method, detail in sorted((resource.get("resourceMethods") or {}).items()):
            integration = detail.get("methodIntegration") or {}
            target = integration.get("uri", "").split(":function:")[-1].removesuffix("/invocations")
            lines.append(f"{method:<4} {path:<14} -> {integration.get('type', 'no integration')} {target}")
    return lines


def permissions(wb: Workbook, function_arn: str) -> list[str]:
    """Who may invoke the function, from where: one line per statement of its resource policy.

    Source ARNs are shown as the route they allow (``POST /images``), and as "this API"
    when they name this prefix's API, so the lines hold no account or API id.
    """
    current = find(wb)
    lines = []
    for sid, statement in sorted(_statements(wb, function_arn).items()):
        principal = statement.get("Principal", {})
        who = principal.get("Service", principal) if isinstance(principal, dict) else principal
        arn = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if arn is None:
            lines.append(f"{sid}: {who} may invoke it from anywhere (any API, any account)")
            continue
        api_id, _, rest = arn.rsplit(":", 1)[-1].partition("/")
        stage, _, route = rest.partition("/")
        method, _, path = route.partition("/")
        which = "this API" if current is not None and api_id == current.id else f"API {api_id}"
        where = "any stage" if stage == "*" else f"stage {stage}"
        lines.append(f"{sid}: {who} may invoke it for {method} /{path} ({where}) of {which}")
    return lines


# --- removing -------------------------------------------------------------------------------


def delete(wb: Workbook, function_arn: str | None = None) -> bool:
    """Delete every REST API named ``wb.names.api`` and the receiver's permissions for them.

    Returns False when there was nothing to delete. On AWS, DeleteRestApi is throttled to
    one call every 30 seconds per account; botocore's retries wait for it.
    """
    apigw = wb.client("apigateway")
    deleted = False
    for item in _apis_named(wb):
        apigw.delete_rest_api(restApiId=item["id"])
        deleted = True
    lam = wb.client("lambda")
    function_arn = function_arn or wb.names.function_arn("api_receiver")
    statements = _statements(wb, function_arn)  # {} when the function or its policy is gone
    for sid in statements:  # ensure's routes and any add_route added
        if sid.startswith(_permission_sid(wb, "")):
            lam.remove_permission(FunctionName=function_arn, StatementId=sid)
            deleted = True
    return deleted


# --- what the API wrote ---------------------------------------------------------------------


def executions_named(wb: Workbook, name: str) -> list[dict[str, Any]]:
    """This prefix's state machine's executions called ``name`` (an image id): 0 or 1 of them."""
    pages = wb.client("stepfunctions").get_paginator("list_executions").paginate(
        stateMachineArn=wb.names.state_machine_arn)
    return [execution for page in pages for execution in page["executions"] if execution["name"] == name]


def footprint(wb: Workbook) -> dict[str, int]:
    """How many records, staged objects, uploads and executions exist: equal before and after a refused upload."""
    ddb, s3, sfn = wb.client("dynamodb"), wb.client("s3"), wb.client("stepfunctions")
    records = sum(page["Count"] for page in ddb.get_paginator("scan").paginate(TableName=wb.names.table,
                                                                                 Select="COUNT"))
    objects = {prefix: sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=wb.names.bucket, Prefix=prefix)) for prefix in ("staging/", "uploads/")}
    executions = sum(len(page["executions"]) for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=wb.names.state_machine_arn))
    return {"records": records, "staged objects": objects["staging/"], "uploads": objects["uploads/"],
            "executions": executions}
