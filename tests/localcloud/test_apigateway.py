"""API Gateway REST (v1) data plane over real HTTP: routing, Lambda proxy and custom
integrations, mapping templates, MOCK, API keys, limits and deployment snapshots."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests

from tests.localcloud.lambdas import allow_apigateway, deploy
from tests.support import unique

ACCOUNT = "123456789012"
REGION = "us-east-1"
MISSING_TOKEN = '{"message":"Missing Authentication Token"}'
FORBIDDEN = '{"message":"Forbidden"}'
INTERNAL_ERROR = '{"message": "Internal server error"}'

PROXY_SOURCE = """
import base64, json, time

def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "sleep":
        time.sleep(3)
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if mode == "string":
        return "not a proxy response"
    if mode == "extra":
        return {"statusCode": 200, "body": "ok", "unexpected": 1}
    if mode == "binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    if mode == "headers":
        return {"statusCode": 201, "headers": {"X-Single": "one", "X-Both": "h"},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["m1", "m2"]},
                "body": "created"}
    if mode == "bare":
        return {"body": "no status"}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
"""

CUSTOM_SOURCE = """
import base64

def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError(event["fail"])
    if isinstance(event, dict) and "data" in event:
        return base64.b64encode(base64.b64decode(event["data"])[::-1]).decode()
    return event
"""


def lambda_uri(function_name: str) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


class RestApi:
    """Builds a REST API through the control plane, as a notebook would with boto3."""

    def __init__(self, apigw, endpoint: str, **create_kwargs) -> None:
        self.apigw = apigw
        self.endpoint = endpoint
        created = apigw.create_rest_api(name=unique("api"), **create_kwargs)
        self.id = created["id"]
        self.created = created
        resources = apigw.get_resources(restApiId=self.id)["items"]
        self.ids = {"/": next(r["id"] for r in resources if r["path"] == "/")}

    def resource(self, path: str) -> str:
        if path in self.ids:
            return self.ids[path]
        parent, _, part = path.rstrip("/").rpartition("/")
        parent_id = self.resource(parent or "/")
        self.ids[path] = self.apigw.create_resource(restApiId=self.id, parentId=parent_id, pathPart=part)["id"]
        return self.ids[path]

    def method(self, path: str, http_method: str, integration: dict, *, responses: tuple[dict, ...] = (),
               api_key_required: bool = False) -> None:
        resource_id = self.resource(path)
        self.apigw.put_method(restApiId=self.id, resourceId=resource_id, httpMethod=http_method,
                              authorizationType="NONE", apiKeyRequired=api_key_required)
        self.apigw.put_integration(restApiId=self.id, resourceId=resource_id, httpMethod=http_method, **integration)
        for response in responses:
            self.apigw.put_method_response(restApiId=self.id, resourceId=resource_id, httpMethod=http_method,
                                           statusCode=response["statusCode"])
            self.apigw.put_integration_response(restApiId=self.id, resourceId=resource_id,
                                                httpMethod=http_method, **response)

    def proxy(self, path: str, http_method: str, function_name: str, **extra) -> None:
        self.method(path, http_method, {"type": "AWS_PROXY", "integrationHttpMethod": "POST",
                                        "uri": lambda_uri(function_name), **extra})

    def deploy(self, stage: str = "dev", **kwargs) -> str:
        return self.apigw.create_deployment(restApiId=self.id, stageName=stage, **kwargs)["id"]

    def url(self, path: str = "/", stage: str = "dev") -> str:
        return f"{self.endpoint}/_aws/execute-api/{self.id}/{stage}{path}"

    def user_request_url(self, path: str = "/", stage: str = "dev") -> str:
        return f"{self.endpoint}/restapis/{self.id}/{stage}/_user_request_{path}"


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


@pytest.fixture(scope="module")
def proxy_fn(client):
    name = deploy(client("lambda"), client("iam"), PROXY_SOURCE, Timeout=10)
    allow_apigateway(client("lambda"), name)
    return name


@pytest.fixture(scope="module")
def custom_fn(client):
    name = deploy(client("lambda"), client("iam"), CUSTOM_SOURCE, Timeout=10)
    allow_apigateway(client("lambda"), name)
    return name


def mock_integration(status_template: str = '{"statusCode": 200}', **extra) -> dict:
    return {"type": "MOCK", "requestTemplates": {"application/json": status_template}, **extra}


def ok_response(body: str) -> dict:
    return {"statusCode": "200", "responseTemplates": {"application/json": body}}


def assert_gateway_error(response: requests.Response, status: int, body: str, error_type: str | None) -> None:
    assert response.status_code == status
    assert response.text == body
    assert response.headers.get("x-amzn-ErrorType") == error_type
    assert response.headers["x-amzn-RequestId"]


# --- routing --------------------------------------------------------------------------------


def test_path_parameters_greedy_proxy_and_any(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud)
    api.proxy("/items/{id}", "GET", proxy_fn)
    api.proxy("/items/special", "GET", proxy_fn)
    api.proxy("/files/{proxy+}", "ANY", proxy_fn)
    api.proxy("/", "GET", proxy_fn)
    api.deploy()

    event = requests.get(api.url("/items/42")).json()
    assert (event["resource"], event["path"], event["pathParameters"]) == ("/items/{id}", "/items/42", {"id": "42"})
    event = requests.get(api.url("/items/special")).json()
    assert (event["resource"], event["pathParameters"]) == ("/items/special", None)
    for verb in ("POST", "DELETE", "PATCH"):
        event = requests.request(verb, api.url("/files/a/b/c.txt")).json()
        assert event["resource"] == "/files/{proxy+}"
        assert event["httpMethod"] == verb
        assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    event = requests.get(api.url("/")).json()
    assert (event["resource"], event["path"]) == ("/", "/")


def test_unknown_path_or_method_is_missing_authentication_token(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/items/{id}", "GET", mock_integration(), responses=(ok_response('{"ok": true}'),))
    api.method("/files/{proxy+}", "GET", mock_integration(), responses=(ok_response('{"ok": true}'),))
    api.deploy()

    assert requests.get(api.url("/items/1")).json() == {"ok": True}
    for verb, path in [("GET", "/nothing/here"), ("POST", "/items/1"), ("GET", "/items"),
                       ("GET", "/files"), ("GET", "/items/1/extra")]:
        assert_gateway_error(requests.request(verb, api.url(path)), 403, MISSING_TOKEN,
                             "MissingAuthenticationTokenException")
    # https://{api}.execute-api.../dev without the trailing slash reaches no resource either.
    assert_gateway_error(requests.get(f"{localcloud}/_aws/execute-api/{api.id}/dev"), 403, MISSING_TOKEN,
                         "MissingAuthenticationTokenException")


def test_unknown_api_or_stage_is_forbidden(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/", "GET", mock_integration(), responses=(ok_response("{}"),))
    api.deploy()
    assert_gateway_error(requests.get(api.url("/", stage="nostage")), 403, FORBIDDEN, "ForbiddenException")
    assert_gateway_error(requests.get(f"{localcloud}/_aws/execute-api/nosuchapi0/dev/"), 403, FORBIDDEN,
                         "ForbiddenException")


def test_both_url_forms_serve_the_stage(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud)
    api.proxy("/items/{id}", "GET", proxy_fn)
    api.deploy()
    for url in (api.url("/items/7"), api.user_request_url("/items/7")):
        response = requests.get(url)
        assert response.status_code == 200
        assert response.json()["pathParameters"] == {"id": "7"}
        assert response.json()["requestContext"]["path"] == "/dev/items/7"
    assert_gateway_error(requests.get(api.user_request_url("/nope")), 403, MISSING_TOKEN,
                         "MissingAuthenticationTokenException")


# --- Lambda proxy ---------------------------------------------------------------------------


def test_proxy_event_fields(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud)
    api.proxy("/orders/{orderId}", "POST", proxy_fn)
    deployment = api.deploy("prod", variables={"table": "orders-prod"})

    response = requests.post(
        api.url("/orders/o-1?tag=a&tag=b&single=x&blank=", stage="prod"),
        data="plain text body",
        headers={"Content-Type": "text/plain", "X-Custom": "v1", "User-Agent": "pytest-agent"},
    )
    assert response.status_code == 200
    event = response.json()
    assert event["resource"] == "/orders/{orderId}"
    assert event["path"] == "/orders/o-1"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"orderId": "o-1"}
    assert event["queryStringParameters"] == {"tag": "b", "single": "x", "blank": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "single": ["x"], "blank": [""]}
    assert event["stageVariables"] == {"table": "orders-prod"}
    assert event["headers"]["X-Custom"] == "v1"
    assert event["headers"]["Content-Type"] == "text/plain"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert "Content-Length" not in event["headers"]
    assert event["multiValueHeaders"]["X-Custom"] == ["v1"]
    assert event["body"] == "plain text body"
    assert event["isBase64Encoded"] is False

    ctx = event["requestContext"]
    assert ctx["requestId"] == response.headers["x-amzn-RequestId"]
    assert ctx["extendedRequestId"] == response.headers["x-amz-apigw-id"]
    assert (ctx["stage"], ctx["apiId"], ctx["accountId"]) == ("prod", api.id, ACCOUNT)
    assert (ctx["resourcePath"], ctx["httpMethod"], ctx["path"]) == ("/orders/{orderId}", "POST", "/prod/orders/o-1")
    assert ctx["resourceId"] == api.ids["/orders/{orderId}"]
    assert ctx["deploymentId"] == deployment
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "pytest-agent"
    assert isinstance(ctx["requestTimeEpoch"], int)

    # Nothing to report: null, not empty objects.
    event = requests.post(api.url("/orders/o-2", stage="prod")).json()
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_binary_body_is_base64_exactly_for_binary_media_types(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud, binaryMediaTypes=["image/png", "audio/*"])
    assert api.created["binaryMediaTypes"] == ["image/png", "audio/*"]
    api.proxy("/upload", "POST", proxy_fn)
    api.deploy()
    payload = bytes(range(256))
    text = "héllo, not binary".encode()

    event = requests.post(api.url("/upload"), data=payload, headers={"Content-Type": "image/png"}).json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload
    event = requests.post(api.url("/upload"), data=payload, headers={"Content-Type": "audio/wav; codec=x"}).json()
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, payload)
    event = requests.post(api.url("/upload"), data=text, headers={"Content-Type": "text/plain"}).json()
    assert (event["isBase64Encoded"], event["body"]) == (False, "héllo, not binary")
    event = requests.post(api.url("/upload"), data=text, headers={"Content-Type": "application/octet-stream"}).json()
    assert event["isBase64Encoded"] is False

    # AWS names the media type in the patch path; it counts only once redeployed.
    apigw.update_rest_api(restApiId=api.id, patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/application~1octet-stream"}])
    assert apigw.get_rest_api(restApiId=api.id)["binaryMediaTypes"] == [
        "image/png", "audio/*", "application/octet-stream"]
    event = requests.post(api.url("/upload"), data=text, headers={"Content-Type": "application/octet-stream"}).json()
    assert event["isBase64Encoded"] is False
    api.deploy()
    event = requests.post(api.url("/upload"), data=text, headers={"Content-Type": "application/octet-stream"}).json()
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, text)
    apigw.update_rest_api(restApiId=api.id, patchOperations=[
        {"op": "remove", "path": "/binaryMediaTypes/image~1png"},
        {"op": "replace", "path": "/binaryMediaTypes/audio~1*", "value": "text/csv"}])
    assert apigw.get_rest_api(restApiId=api.id)["binaryMediaTypes"] == ["text/csv", "application/octet-stream"]


def test_lambda_response_mapping(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud)
    api.proxy("/r", "GET", proxy_fn)
    api.deploy()
    response = requests.get(api.url("/r?mode=headers"))
    assert response.status_code == 201
    assert response.content == b"created"
    assert response.headers["X-Single"] == "one"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert sorted(response.raw.headers.getlist("X-Both")) == ["h", "m1", "m2"]
    assert response.headers["Content-Type"] == "application/json"  # AWS's default

    response = requests.get(api.url("/r?mode=bare"))
    assert (response.status_code, response.text) == (200, "no status")


def test_binary_lambda_response_is_decoded_only_for_a_binary_accept(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud, binaryMediaTypes=["image/png"])
    api.proxy("/img", "GET", proxy_fn)
    api.deploy()
    response = requests.get(api.url("/img?mode=binary"), headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == bytes(range(256))
    # AWS looks at the first Accept type only; a text one gets the base64 text.
    response = requests.get(api.url("/img?mode=binary"), headers={"Accept": "application/json, image/png"})
    assert response.content == base64.b64encode(bytes(range(256)))


@pytest.mark.parametrize("mode", ["malformed", "string", "extra", "raise"])
def test_malformed_lambda_response_or_function_error_is_502(apigw, localcloud, proxy_fn, mode):
    api = RestApi(apigw, localcloud)
    api.proxy("/r", "GET", proxy_fn)
    api.deploy()
    assert_gateway_error(requests.get(api.url(f"/r?mode={mode}")), 502, INTERNAL_ERROR,
                         "InternalServerErrorException")


def test_integration_timeout_is_504(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud)
    api.proxy("/slow", "GET", proxy_fn, timeoutInMillis=1000)
    api.deploy()
    assert_gateway_error(requests.get(api.url("/slow?mode=sleep")), 504,
                         '{"message": "Endpoint request timed out"}', "InternalServerErrorException")


def test_a_proxy_event_over_lambdas_6_mb_is_413_request_too_long(apigw, localcloud, proxy_fn):
    # Seen on AWS: Lambda refuses the event and API Gateway answers 413, not a 5xx.
    api = RestApi(apigw, localcloud, binaryMediaTypes=["image/png"])
    api.proxy("/big", "POST", proxy_fn)
    api.deploy()
    body = b"\x89PNG" + bytes(5 * 1024 * 1024)  # 5 MB, about 7 MB once base64-encoded in the event
    response = requests.post(api.url("/big"), data=body, headers={"Content-Type": "image/png"})
    assert_gateway_error(response, 413, '{"message": "Request Too Long"}', "BadRequestException")
    fits = requests.post(api.url("/big"), data=body[:4 * 1024 * 1024], headers={"Content-Type": "image/png"})
    assert fits.status_code == 200


def test_lambda_configuration_errors_are_500(apigw, localcloud, proxy_fn):
    api = RestApi(apigw, localcloud)
    api.proxy("/missing", "GET", unique("no-such-function"))
    api.proxy("/get", "GET", proxy_fn, integrationHttpMethod="GET")  # Lambda is only ever invoked with POST
    api.deploy()
    for path in ("/missing", "/get"):
        assert_gateway_error(requests.get(api.url(path)), 500, INTERNAL_ERROR, "InternalServerErrorException")


# --- Lambda custom (AWS) integration with mapping templates ---------------------------------

REQUEST_TEMPLATE = """#set($payload = $util.parseJson($input.body))
{
  "body": "$util.escapeJavaScript($input.body)",
  "whole": $input.json('$'),
  "name": "$input.path('$.name')",
  "firstTag": $input.json('$.tags[0]'),
  "tagCount": $input.path('$.tags').size(),
  "parsedName": "$payload.name",
  "id": "$input.params('id')",
  "q": "$input.params('q')",
  "header": "$input.params('X-Custom')",
  "headerViaMap": "$input.params().header.get('X-Custom')",
  "b64": "$util.base64Encode($input.path('$.name'))",
  "decoded": "$util.base64Decode('aGVsbG8gd29ybGQ=')",
  "quote": "$util.escapeJavaScript($input.path('$.quote'))",
  "requestId": "$context.requestId",
  "stage": "$context.stage",
  "resourcePath": "$context.resourcePath",
  "httpMethod": "$context.httpMethod",
  "sourceIp": "$context.identity.sourceIp",
  "table": "$stageVariables.table"
}"""

RESPONSE_TEMPLATE = """{"echoed": $input.json('$'), "name": "$input.path('$.name')", "stage": "$context.stage"}"""


def test_vtl_request_and_response_templates(apigw, localcloud, custom_fn):
    api = RestApi(apigw, localcloud)
    api.method("/things/{id}", "POST",
               {"type": "AWS", "integrationHttpMethod": "POST", "uri": lambda_uri(custom_fn),
                "requestTemplates": {"application/json": REQUEST_TEMPLATE}},
               responses=(ok_response(RESPONSE_TEMPLATE),))
    api.deploy("v1", variables={"table": "things"})

    body = {"name": "Zoë", "tags": ["red", "blue"], "quote": 'say "hi" / bye'}
    response = requests.post(api.url("/things/t-9?q=search", stage="v1"), json=body,
                             headers={"X-Custom": "custom-value"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    result = response.json()
    assert result["name"] == "Zoë" and result["stage"] == "v1"
    event = result["echoed"]
    assert json.loads(event["body"]) == body
    assert event["whole"] == body
    assert (event["name"], event["firstTag"], event["tagCount"], event["parsedName"]) == ("Zoë", "red", 2, "Zoë")
    assert (event["id"], event["q"], event["header"], event["headerViaMap"]) == (
        "t-9", "search", "custom-value", "custom-value")
    assert event["b64"] == base64.b64encode("Zoë".encode()).decode()
    assert event["decoded"] == "hello world"
    assert event["quote"] == 'say "hi" / bye'  # escaped by the template, unescaped by JSON
    assert event["requestId"] == response.headers["x-amzn-RequestId"]
    assert (event["stage"], event["resourcePath"], event["httpMethod"]) == ("v1", "/things/{id}", "POST")
    assert (event["sourceIp"], event["table"]) == ("127.0.0.1", "things")


def test_selection_pattern_maps_lambda_errors_to_method_responses(apigw, localcloud, custom_fn):
    api = RestApi(apigw, localcloud)
    api.method("/e", "POST",
               {"type": "AWS", "integrationHttpMethod": "POST", "uri": lambda_uri(custom_fn)},
               responses=(
                   ok_response('{"ok": $input.json(\'$\')}'),
                   {"statusCode": "404", "selectionPattern": "Not found: .*",
                    "responseTemplates": {"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'},
                    "responseParameters": {"method.response.header.X-Error-Type": "integration.response.body.errorType",
                                           "method.response.header.X-Static": "'fixed'"}},
                   {"statusCode": "400", "selectionPattern": "Invalid.*"},
               ))
    api.deploy()

    response = requests.post(api.url("/e"), json={"fail": "Not found: item 42"})
    assert (response.status_code, response.json()) == (404, {"error": "Not found: item 42"})
    assert (response.headers["X-Error-Type"], response.headers["X-Static"]) == ("ValueError", "fixed")
    response = requests.post(api.url("/e"), json={"fail": "Invalid input"})
    assert response.status_code == 400
    assert response.json()["errorMessage"] == "Invalid input"  # no template: passed through
    assert response.json()["errorType"] == "ValueError"
    # selectionPattern must match the whole message, so this one falls to the default (200).
    response = requests.post(api.url("/e"), json={"fail": "Something Not found: x"})
    assert response.status_code == 200
    assert response.json()["ok"]["errorMessage"] == "Something Not found: x"
    response = requests.post(api.url("/e"), json={"hello": "world"})
    assert (response.status_code, response.json()) == (200, {"ok": {"hello": "world"}})


def test_content_handling_convert_to_text_and_to_binary(apigw, localcloud, custom_fn):
    api = RestApi(apigw, localcloud, binaryMediaTypes=["application/octet-stream"])
    api.method("/flip", "POST",
               {"type": "AWS", "integrationHttpMethod": "POST", "uri": lambda_uri(custom_fn),
                "contentHandling": "CONVERT_TO_TEXT",
                "requestTemplates": {"application/octet-stream": '{"data": "$input.body"}'}},
               responses=({"statusCode": "200", "contentHandling": "CONVERT_TO_BINARY"},))
    api.deploy()
    payload = bytes(range(200, 256)) + b"\x00\x01tail"
    response = requests.post(api.url("/flip"), data=payload,
                             headers={"Content-Type": "application/octet-stream", "Accept": "application/octet-stream"})
    assert response.status_code == 200
    assert response.content == payload[::-1]


# --- MOCK -----------------------------------------------------------------------------------


def test_mock_integration_selects_status_from_request_template(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/health", "GET", mock_integration('{"statusCode": $input.params(\'code\')}'),
               responses=(
                   {"statusCode": "200",
                    "responseTemplates": {"application/json": '{"status": "up", "stage": "$context.stage"}'},
                    "responseParameters": {"method.response.header.X-Mocked": "'yes'"}},
                   {"statusCode": "503", "selectionPattern": "5\\d\\d",
                    "responseTemplates": {"application/json": '{"status": "down"}'}},
               ))
    api.deploy()
    response = requests.get(api.url("/health?code=200"))
    assert (response.status_code, response.json()) == (200, {"status": "up", "stage": "dev"})
    assert response.headers["X-Mocked"] == "yes"
    response = requests.get(api.url("/health?code=500"))
    assert (response.status_code, response.json()) == (503, {"status": "down"})


def test_response_template_can_override_status_and_headers(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    template = ("#set($context.responseOverride.status = 418)"
                "#set($context.responseOverride.header.X-Tea = 'pot')"
                '{"tea": true}')
    api.method("/teapot", "GET", mock_integration(), responses=(ok_response(template),))
    api.deploy()
    response = requests.get(api.url("/teapot"))
    assert (response.status_code, response.json(), response.headers["X-Tea"]) == (418, {"tea": True}, "pot")


def test_passthrough_never_rejects_unmapped_content_type(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/m", "POST", mock_integration(passthroughBehavior="NEVER"), responses=(ok_response('{"ok": 1}'),))
    api.deploy()
    assert requests.post(api.url("/m"), json={}).json() == {"ok": 1}
    assert_gateway_error(requests.post(api.url("/m"), data="x", headers={"Content-Type": "text/plain"}), 415,
                         '{"message":"Unsupported Media Type"}', "UnsupportedMediaTypeException")


# --- API keys, limits, deployments ----------------------------------------------------------


def test_api_key_required(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/secret", "GET", mock_integration(), api_key_required=True,
               responses=(ok_response('{"keyId": "$context.identity.apiKeyId"}'),))
    api.deploy("dev")
    api.deploy("other")

    def key(enabled: bool = True) -> dict:
        return apigw.create_api_key(name=unique("key"), enabled=enabled, value=uuid.uuid4().hex + "x" * 8)

    def plan(stage: str, *keys: dict) -> None:
        plan_id = apigw.create_usage_plan(name=unique("plan"), apiStages=[{"apiId": api.id, "stage": stage}])["id"]
        for k in keys:
            apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=k["id"], keyType="API_KEY")

    good, disabled, planless, elsewhere = key(), key(enabled=False), key(), key()
    plan("dev", good, disabled)
    plan("other", elsewhere)

    for headers in ({}, {"x-api-key": "not-a-real-key-value-123456"}, {"x-api-key": disabled["value"]},
                    {"x-api-key": planless["value"]}, {"x-api-key": elsewhere["value"]}):
        assert_gateway_error(requests.get(api.url("/secret"), headers=headers), 403, FORBIDDEN, "ForbiddenException")
    response = requests.get(api.url("/secret"), headers={"x-api-key": good["value"]})
    assert (response.status_code, response.json()) == (200, {"keyId": good["id"]})
    assert requests.get(api.url("/secret", stage="other"), headers={"x-api-key": elsewhere["value"]}).status_code == 200


def test_request_body_over_10_mb_is_413(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/upload", "POST", mock_integration(), responses=(ok_response('{"ok": true}'),))
    api.deploy()
    limit = 10 * 1024 * 1024
    response = requests.post(api.url("/upload"), data=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.text == f"HTTP content length exceeded {limit} bytes."
    response = requests.post(api.url("/upload"), data=b"x" * limit, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_stage_serves_its_deployment_not_later_edits(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/v", "GET", mock_integration(), responses=(ok_response('{"version": 1}'),))
    first = api.deploy()
    resource_id = api.ids["/v"]
    apigw.put_integration_response(restApiId=api.id, resourceId=resource_id, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": '{"version": 2}'})
    api.method("/new", "GET", mock_integration(), responses=(ok_response("{}"),))

    assert requests.get(api.url("/v")).json() == {"version": 1}
    assert requests.get(api.url("/new")).status_code == 403
    api.deploy()
    assert requests.get(api.url("/v")).json() == {"version": 2}
    assert requests.get(api.url("/new")).status_code == 200
    apigw.update_stage(restApiId=api.id, stageName="dev",
                       patchOperations=[{"op": "replace", "path": "/deploymentId", "value": first}])
    assert requests.get(api.url("/v")).json() == {"version": 1}


def test_redeploying_keeps_stage_variables(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/sv", "GET", mock_integration(), responses=(ok_response('{"color": "$stageVariables.color"}'),))
    api.deploy("dev", variables={"color": "blue"})
    api.deploy("dev")
    assert requests.get(api.url("/sv")).json() == {"color": "blue"}
