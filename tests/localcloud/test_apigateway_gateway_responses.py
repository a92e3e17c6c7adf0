"""API Gateway gateway responses (PutGatewayResponse): the answers API Gateway gives itself, as an
API customised them. Over real HTTP against the local cloud, then unit tests of the pieces."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import MappingProxyType

import pytest
import requests
from moto.apigateway.models import RestAPI

from localcloud.apigateway import content, deployments, errors, gateway_responses
from localcloud.apigateway.context import ApiRequest, Progress
from localcloud.apigateway.deployments import DeployedApi, DeployedGatewayResponse, StageTarget
from tests.localcloud.test_apigateway import (
    FORBIDDEN,
    INTERNAL_ERROR,
    MISSING_TOKEN,
    RestApi,
    mock_integration,
    ok_response,
)

NOT_FOUND_TEMPLATE = ('{"error": $context.error.messageString, "method": "$context.httpMethod", '
                      '"path": "$context.path", "type": "$context.error.responseType"}')


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


def put(apigw, api: RestApi, response_type: str, **kwargs) -> None:
    apigw.put_gateway_response(restApiId=api.id, responseType=response_type, **kwargs)


def api_with_items(apigw, localcloud, **create_kwargs) -> RestApi:
    api = RestApi(apigw, localcloud, **create_kwargs)
    api.method("/items/{id}", "GET", mock_integration(), responses=(ok_response('{"ok": true}'),))
    return api


# --- over HTTP ------------------------------------------------------------------------------


def test_missing_authentication_token_customised_to_404(apigw, localcloud):
    api = api_with_items(apigw, localcloud)
    put(apigw, api, "MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseTemplates={"application/json": NOT_FOUND_TEMPLATE})
    api.deploy()

    response = requests.get(api.url("/nothing/here"))
    assert response.status_code == 404
    assert response.text == ('{"error": "Missing Authentication Token", "method": "GET", '
                             '"path": "/dev/nothing/here", "type": "MISSING_AUTHENTICATION_TOKEN"}')
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"  # kept, as on AWS
    assert response.headers["x-amzn-RequestId"]

    # A known path with a method it does not declare is the same error.
    response = requests.post(api.url("/items/1"))
    assert response.status_code == 404
    assert response.json() == {"error": "Missing Authentication Token", "method": "POST", "path": "/dev/items/1",
                               "type": "MISSING_AUTHENTICATION_TOKEN"}
    # Only the gateway's own answers change.
    assert requests.get(api.url("/items/1")).json() == {"ok": True}


def test_default_4xx_applies_to_a_4xx_without_its_own_type(apigw, localcloud):
    api = api_with_items(apigw, localcloud)
    api.method("/secret", "GET", mock_integration(), api_key_required=True, responses=(ok_response("{}"),))
    api.method("/strict", "POST", mock_integration(passthroughBehavior="NEVER"), responses=(ok_response("{}"),))
    api.method("/broken", "GET", mock_integration())  # no integration response: a 500
    put(apigw, api, "MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseTemplates={"application/json": NOT_FOUND_TEMPLATE})
    fallback = ('{"fallback": $context.error.messageString, "type": "$context.error.responseType", '
                '"raw": "$context.error.message"}')
    put(apigw, api, "DEFAULT_4XX", responseTemplates={"application/json": fallback})
    api.deploy()

    # No INVALID_API_KEY customisation: DEFAULT_4XX, with the error's own status (it sets none).
    response = requests.get(api.url("/secret"))
    assert response.status_code == 403
    assert response.json() == {"fallback": "Forbidden", "type": "INVALID_API_KEY", "raw": "Forbidden"}
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    response = requests.post(api.url("/strict"), data="x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["type"] == "UNSUPPORTED_MEDIA_TYPE"
    # A customised type beats DEFAULT_4XX.
    response = requests.get(api.url("/nothing"))
    assert (response.status_code, response.json()["type"]) == (404, "MISSING_AUTHENTICATION_TOKEN")
    assert "fallback" not in response.json()
    # DEFAULT_4XX does not reach a 5xx, and an unknown stage has no deployment to customise.
    response = requests.get(api.url("/broken"))
    assert (response.status_code, response.text) == (500, INTERNAL_ERROR)
    response = requests.get(api.url("/items/1", stage="nostage"))
    assert (response.status_code, response.text) == (403, FORBIDDEN)


def test_response_parameters_add_headers_and_status_code_overrides(apigw, localcloud):
    api = RestApi(apigw, localcloud)
    api.method("/broken/{id}", "GET", mock_integration())  # no integration response: API_CONFIGURATION_ERROR
    put(apigw, api, "DEFAULT_5XX", statusCode="503",
        responseParameters={
            "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
            "gatewayresponse.header.X-Trace": "method.request.header.X-Trace",
            "gatewayresponse.header.X-Query": "method.request.querystring.q",
            "gatewayresponse.header.X-Id": "method.request.path.id",
            "gatewayresponse.header.X-Color": "stageVariables.color",
            "gatewayresponse.header.X-Request": "context.requestId",
            "gatewayresponse.header.X-Absent": "method.request.header.X-Not-Sent",
        },
        responseTemplates={
            "application/json": '{"message": $context.error.messageString, "resource": "$context.resourcePath"}',
            "application/xml": "<error type=\"$context.error.responseType\">$context.error.message</error>",
        })
    api.deploy(variables={"color": "teal"})

    response = requests.get(api.url("/broken/7?q=find"), headers={"X-Trace": "t-1"})
    assert response.status_code == 503
    assert response.json() == {"message": "Internal server error", "resource": "/broken/{id}"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert (response.headers["X-Trace"], response.headers["X-Query"], response.headers["X-Id"]) == ("t-1", "find", "7")
    assert response.headers["X-Color"] == "teal"
    assert response.headers["X-Request"] == response.headers["x-amzn-RequestId"]
    assert "X-Absent" not in response.headers
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"

    # The first Accept type picks the template, and names the Content-Type.
    response = requests.get(api.url("/broken/7"), headers={"Accept": "application/xml, application/json"})
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/xml"
    assert response.text == '<error type="API_CONFIGURATION_ERROR">Internal server error</error>'
    response = requests.get(api.url("/broken/7"), headers={"Accept": "text/html"})
    assert response.headers["Content-Type"] == "application/json"


def test_gateway_responses_follow_the_deployment(apigw, localcloud):
    api = api_with_items(apigw, localcloud)
    first = api.deploy()

    def unknown_path() -> requests.Response:
        return requests.get(api.url("/nothing"))

    put(apigw, api, "MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseTemplates={"application/json": NOT_FOUND_TEMPLATE})
    # Not deployed yet: the stage still serves the first deployment's (default) answer.
    response = unknown_path()
    assert (response.status_code, response.text) == (403, MISSING_TOKEN)
    second = api.deploy()
    assert unknown_path().status_code == 404

    # Deleting it is an API change too: the deployed customisation stays until the next deployment.
    apigw.delete_gateway_response(restApiId=api.id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert unknown_path().status_code == 404
    apigw.update_stage(restApiId=api.id, stageName="dev",
                       patchOperations=[{"op": "replace", "path": "/deploymentId", "value": first}])
    assert (unknown_path().status_code, unknown_path().text) == (403, MISSING_TOKEN)
    apigw.update_stage(restApiId=api.id, stageName="dev",
                       patchOperations=[{"op": "replace", "path": "/deploymentId", "value": second}])
    assert unknown_path().status_code == 404
    api.deploy()
    assert (unknown_path().status_code, unknown_path().text) == (403, MISSING_TOKEN)


# --- units ----------------------------------------------------------------------------------


def customisation(response_type: str, status_code: str | None = None, templates: dict | None = None,
                  parameters: dict | None = None) -> DeployedGatewayResponse:
    return DeployedGatewayResponse(response_type=response_type, status_code=status_code,
                                   response_parameters=MappingProxyType(parameters or {}),
                                   response_templates=MappingProxyType(templates or {}))


def progress_with(*customisations: DeployedGatewayResponse, headers: tuple = (), stage: bool = True) -> Progress:
    target = StageTarget(
        account_id="123456789012", region="us-east-1", api_id="abc123", stage_name="dev", deployment_id="dep1",
        variables=MappingProxyType({"env": "test"}),
        api=DeployedApi(resources=(), binary_media_types=(), api_key_source="HEADER",
                        gateway_responses=MappingProxyType({c.response_type: c for c in customisations})),
    )
    request = ApiRequest(http_method="GET", path="/a/b", headers=(("Host", "h"), *headers), query=(), body=b"",
                         source_ip="10.0.0.9", host="h", server_port="4566")
    return Progress(received_at=datetime(2024, 3, 5, 7, 8, 9, tzinfo=timezone.utc), request=request,
                    stage=target if stage else None)


def answer(error: errors.GatewayError, progress: Progress):
    return gateway_responses.answer(error, progress, request_id="req-1", extended_request_id="ext-1")


ALL_ERRORS = [
    (errors.missing_authentication_token("r"), "MISSING_AUTHENTICATION_TOKEN", 403, True),
    (errors.invalid_api_key("r"), "INVALID_API_KEY", 403, True),
    (errors.forbidden("r"), "DEFAULT_4XX", 403, False),
    (errors.unsupported_media_type("text/plain"), "UNSUPPORTED_MEDIA_TYPE", 415, True),
    (errors.integration_timeout(1000), "INTEGRATION_TIMEOUT", 504, True),
    (errors.internal_server_error("r"), "API_CONFIGURATION_ERROR", 500, True),
    (errors.internal_server_error("r", status=502), "INTEGRATION_FAILURE", 502, True),
    (errors.request_too_large(errors.MAX_BODY_BYTES + 1), "REQUEST_TOO_LARGE", 413, False),
]


@pytest.mark.parametrize(("error", "response_type", "status", "customisable"), ALL_ERRORS)
def test_each_built_in_error_names_its_response_type(error, response_type, status, customisable):
    assert (error.response_type, error.status, error.customisable) == (response_type, status, customisable)


@pytest.mark.parametrize("error", [case[0] for case in ALL_ERRORS])
def test_nothing_customised_is_the_built_in_answer(error):
    built_in = gateway_responses.built_in(error)
    unrelated = customisation("THROTTLED", "418", {"application/json": "x"})
    assert answer(error, progress_with(unrelated)) == built_in
    assert answer(error, progress_with()) == built_in
    assert built_in.status == error.status and built_in.body == error.body.encode()


def test_answers_before_the_configuration_is_read_are_never_customised():
    everything = [customisation(t, "418", {"application/json": "custom"})
                  for t in ("REQUEST_TOO_LARGE", "DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN")]
    too_large = errors.request_too_large(errors.MAX_BODY_BYTES + 1)
    assert answer(too_large, progress_with(*everything)).status == 413
    assert answer(errors.forbidden("no stage"), progress_with(*everything)).body == FORBIDDEN.encode()
    missing = errors.missing_authentication_token("r")
    assert answer(missing, progress_with(*everything, stage=False)).body == MISSING_TOKEN.encode()
    assert answer(missing, progress_with(*everything)).status == 418


def test_selection_order_specific_then_family():
    specific = customisation("INVALID_API_KEY", "401")
    four, five = customisation("DEFAULT_4XX"), customisation("DEFAULT_5XX", "503")
    table = {c.response_type: c for c in (specific, four, five)}
    assert gateway_responses.select(errors.invalid_api_key("r"), table) is specific
    assert gateway_responses.select(errors.missing_authentication_token("r"), table) is four
    assert gateway_responses.select(errors.integration_timeout(50), table) is five
    assert gateway_responses.select(errors.internal_server_error("r", 502), {"DEFAULT_4XX": four}) is None


@pytest.mark.parametrize(("status_code", "expected"), [(None, 403), ("404", 404), ("abc", 403), ("999", 403)])
def test_status_code_replaces_the_status(status_code, expected):
    error = errors.invalid_api_key("r")
    assert gateway_responses.status_of(customisation("INVALID_API_KEY", status_code), error) == expected


def test_a_customisation_without_templates_keeps_the_built_in_body():
    error = errors.internal_server_error("r", 502)
    result = answer(error, progress_with(customisation("DEFAULT_5XX", parameters={
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})))
    assert (result.status, result.body) == (502, INTERNAL_ERROR.encode())
    assert result.headers == [("Content-Type", "application/json"),
                              ("x-amzn-ErrorType", "InternalServerErrorException"),
                              ("Access-Control-Allow-Origin", "*")]


def test_a_mapped_content_type_wins_over_the_template_key():
    error = errors.missing_authentication_token("r")
    result = answer(error, progress_with(customisation(
        "MISSING_AUTHENTICATION_TOKEN", templates={"application/json": "{}"},
        parameters={"gatewayresponse.header.Content-Type": "'application/problem+json'"})))
    assert [value for name, value in result.headers if name.lower() == "content-type"] == ["application/problem+json"]


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/xml", ("application/xml", "X")),
    ("text/html, application/xml", ("application/json", "J")),  # only the first Accept type counts
    (None, ("application/json", "J")),
    ("*/*", ("application/json", "J")),
])
def test_template_chosen_by_accept_then_json(accept, expected):
    templates = {"text/plain": "T", "application/xml": "X", "application/json": "J"}
    assert content.choose_template(templates, accept) == expected
    assert content.choose_template({"text/plain": "T"}, "a/b") == ("text/plain", "T")
    assert content.choose_template({}, "a/b") is None


def variables_for(error: errors.GatewayError) -> dict:
    return gateway_responses.template_variables(error, progress_with(headers=(("User-Agent", "ua/1"),)),
                                                request_id="req-1", extended_request_id="ext-1")


@pytest.mark.parametrize(("template", "expected"), [
    ("$context.error.messageString", '"Missing Authentication Token"'),
    ('{"m":"$context.error.message","t":"$context.error.responseType"}',
     '{"m":"Missing Authentication Token","t":"MISSING_AUTHENTICATION_TOKEN"}'),
    ("${context.stage}|$!{context.requestId}|$!context.extendedRequestId", "dev|req-1|ext-1"),
    ("$context.path $context.httpMethod $context.apiId $context.accountId", "/dev/a/b GET abc123 123456789012"),
    ("$context.identity.sourceIp/$context.identity.userAgent/$context.requestTimeEpoch", "10.0.0.9/ua/1/1709622489000"),
    ("[$context.resourcePath][$context.identity.caller][$context.no.such]", "[][][]"),  # null or missing: nothing
    ("$stageVariables.env;$stageVariables.none;", "test;;"),
    ("$context.stage.", "dev."),
    # Not Velocity: directives, $input and $util stay as written.
    ("#set($x = 1)$input.body $util.escapeJavaScript('a')", "#set($x = 1)$input.body $util.escapeJavaScript('a')"),
    ("price: $5", "price: $5"),
])
def test_templates_are_simple_substitution(template, expected):
    error = errors.missing_authentication_token("r")
    assert gateway_responses.substitute(template, variables_for(error)) == expected


def test_message_string_is_a_json_string():
    error = errors.GatewayError(400, "{}", error_type=None, reason="r", response_type="BAD_REQUEST_BODY",
                                message='Invalid "body" \\ here')
    text = gateway_responses.substitute('{"message":$context.error.messageString}', variables_for(error))
    assert json.loads(text) == {"message": 'Invalid "body" \\ here'}


def test_a_broken_customisation_falls_back_to_the_built_in_answer(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gateway_responses, "substitute", broken)
    error = errors.missing_authentication_token("r")
    progress = progress_with(customisation("MISSING_AUTHENTICATION_TOKEN", "404", {"application/json": "x"}))
    assert answer(error, progress) == gateway_responses.built_in(error)


def test_capture_freezes_gateway_responses():
    api = RestAPI("api1", "123456789012", "us-east-1", "n", "d")
    api.put_gateway_response("DEFAULT_4XX", None, {"gatewayresponse.header.A": "'1'"}, {"application/json": "{}"})
    api.put_gateway_response("MISSING_AUTHENTICATION_TOKEN", "404", None, None)
    snapshot = deployments.capture(api)
    api.gateway_responses["DEFAULT_4XX"].response_templates["application/json"] = "changed"
    api.delete_gateway_response("MISSING_AUTHENTICATION_TOKEN")
    frozen = snapshot.gateway_responses
    assert set(frozen) == {"DEFAULT_4XX", "MISSING_AUTHENTICATION_TOKEN"}
    assert frozen["DEFAULT_4XX"].status_code is None
    assert dict(frozen["DEFAULT_4XX"].response_templates) == {"application/json": "{}"}
    assert dict(frozen["DEFAULT_4XX"].response_parameters) == {"gatewayresponse.header.A": "'1'"}
    assert frozen["MISSING_AUTHENTICATION_TOKEN"].status_code == "404"
    assert dict(frozen["MISSING_AUTHENTICATION_TOKEN"].response_templates) == {}

