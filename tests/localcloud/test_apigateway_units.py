"""Unit tests of the API Gateway data plane's pieces: routing, binary handling, the proxy
event and response mapping, mapping templates, integration response selection, limits."""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import datetime, timezone
from types import MappingProxyType, SimpleNamespace

import pytest
from moto.apigateway.models import Integration, IntegrationResponse, Method, RestAPI

from localcloud.apigateway import content, deployments, errors, integrations, proxy, responses, router, vtl
from localcloud.apigateway.context import ApiRequest, Invocation, format_request_time
from localcloud.apigateway.deployments import DeployedApi, DeployedResource, StageTarget


def method(http_method: str = "GET") -> Method:
    return Method(http_method, "NONE")


def resource(path: str, *verbs: str) -> DeployedResource:
    return DeployedResource(id=f"id{abs(hash(path)) % 10_000}", path=path,
                            methods=MappingProxyType({verb: method(verb) for verb in verbs}))


def stage(binary_media_types: tuple[str, ...] = (), variables: dict | None = None) -> StageTarget:
    return StageTarget(
        account_id="123456789012", region="us-east-1", api_id="abc123", stage_name="dev", deployment_id="dep1",
        variables=MappingProxyType(variables or {}),
        api=DeployedApi(resources=(), binary_media_types=binary_media_types, api_key_source="HEADER"),
    )


def invocation(*, path: str = "/items/1", template: str = "/items/{id}", params: dict | None = None,
               headers: tuple = (), query: tuple = (), body: bytes = b"", http_method: str = "GET",
               binary_media_types: tuple[str, ...] = (), variables: dict | None = None) -> Invocation:
    request = ApiRequest(http_method=http_method, path=path, headers=(("Host", "127.0.0.1:4566"), *headers),
                         query=query, body=body, source_ip="10.0.0.9", host="127.0.0.1:4566", server_port="4566")
    route = router.Route(resource=resource(template, http_method), method=method(http_method),
                         path_parameters=MappingProxyType(params if params is not None else {"id": "1"}))
    return Invocation(request=request, stage=stage(binary_media_types, variables), route=route, request_id="req-1",
                      extended_request_id="ext-1", received_at=datetime(2024, 3, 5, 7, 8, 9, tzinfo=timezone.utc))


# --- router ---------------------------------------------------------------------------------

ROUTES = (
    resource("/", "GET"),
    resource("/items", ),  # intermediate resource without methods
    resource("/items/{id}", "GET", "DELETE"),
    resource("/items/special", "GET"),
    resource("/items/{id}/parts/{part}", "ANY"),
    resource("/files/{proxy+}", "ANY", "GET"),
    resource("/{proxy+}", "POST"),
)


@pytest.mark.parametrize(("verb", "path", "expected", "params"), [
    ("GET", "/", "/", {}),
    ("GET", "/items/7", "/items/{id}", {"id": "7"}),
    ("GET", "/items/7/", "/items/{id}", {"id": "7"}),
    ("GET", "/items/special", "/items/special", {}),
    ("PUT", "/items/7/parts/wheel", "/items/{id}/parts/{part}", {"id": "7", "part": "wheel"}),
    ("GET", "/files/a/b/c", "/files/{proxy+}", {"proxy": "a/b/c"}),
    ("DELETE", "/files/a", "/files/{proxy+}", {"proxy": "a"}),
    ("POST", "/items", "/{proxy+}", {"proxy": "items"}),  # /items has no methods: skipped
    ("POST", "/x/y", "/{proxy+}", {"proxy": "x/y"}),
])
def test_router_picks_the_most_specific_resource(verb, path, expected, params):
    route = router.match(ROUTES, verb, path)
    assert route is not None
    assert route.resource.path == expected
    assert dict(route.path_parameters) == params


def test_router_prefers_an_exact_method_over_any():
    route = router.match(ROUTES, "GET", "/files/x")
    assert route.method.http_method == "GET"
    assert router.match(ROUTES, "PATCH", "/files/x").method.http_method == "ANY"


@pytest.mark.parametrize(("verb", "path"), [
    ("POST", "/items/7"),  # /items/{id} lacks POST: no fallback to /{proxy+}
    ("GET", "/items"),  # the only match with methods is /{proxy+}, which lacks GET
    ("GET", "/nothing"),
    ("GET", "/items/7/parts"),
])
def test_router_finds_no_route(verb, path):
    assert router.match(ROUTES, verb, path) is None


def test_greedy_parameter_needs_at_least_one_segment():
    assert router.match_path("/files/{proxy+}", ["files"]) is None
    assert router.match_path("/{proxy+}", []) is None


# --- deployments ----------------------------------------------------------------------------


def test_capture_freezes_paths_methods_and_media_types():
    api = RestAPI("api1", "123456789012", "us-east-1", "n", "d", binaryMediaTypes=["image/png"])
    child = api.add_child("photos", api.root_resource_id)
    grandchild = api.add_child("{id}", child.id)
    grandchild.add_method("GET", "NONE", False)
    snapshot = deployments.capture(api)
    grandchild.add_method("POST", "NONE", False)
    api.binaryMediaTypes.append("text/csv")
    paths = {r.path: set(r.methods) for r in snapshot.resources}
    assert paths == {"/": set(), "/photos": set(), "/photos/{id}": {"GET"}}
    assert snapshot.binary_media_types == ("image/png",)
    assert snapshot.api_key_source == "HEADER"


def test_stage_without_snapshot_serves_the_live_api():
    from moto.apigateway.models import apigateway_backends

    backend = apigateway_backends["000000000042"]["eu-west-1"]
    api = backend.create_rest_api("unhooked", "")
    child = backend.create_resource(api.id, api.root_resource_id, "live")
    backend.put_method(api.id, child.id, "GET", "NONE")
    backend.put_integration(api.id, child.id, "GET", "MOCK", None, None)
    deployment = backend.create_deployment(api.id, "dev", "")
    # As if the state predates the CreateDeployment hook (whether or not this process installed it).
    vars(deployment).pop(deployments.SNAPSHOT_ATTRIBUTE, None)
    backend.create_resource(api.id, child.id, "later")
    target = deployments.find_stage(api.id, "dev")
    assert (target.account_id, target.region, target.stage_name) == ("000000000042", "eu-west-1", "dev")
    assert {r.path for r in target.api.resources} == {"/", "/live", "/live/later"}
    assert deployments.find_stage(api.id, "nostage") is None
    assert deployments.find_stage("nosuchapi", "dev") is None


# --- binary media types and content handling ------------------------------------------------


@pytest.mark.parametrize(("mime", "types", "expected"), [
    ("image/png", ["image/png"], True),
    ("image/jpeg", ["image/*"], True),
    ("text/plain", ["*/*"], True),
    ("image/png", ["image/jpeg"], False),
    ("IMAGE/PNG", ["image/png"], True),
    (None, ["*/*"], False),
    ("application/json", [], False),
])
def test_binary_media_type_matching(mime, types, expected):
    assert content.is_binary(content.media_type(mime), types) is expected


def test_only_the_first_accept_type_counts():
    assert content.first_accept("image/webp,image/*;q=0.8, */*") == "image/webp"
    assert content.first_accept(None) is None


@pytest.mark.parametrize(("binary", "handling", "expected"), [
    (True, None, (b"\xff\x00", True)),
    (True, "CONVERT_TO_TEXT", (base64.b64encode(b"\xff\x00"), False)),
    (True, "CONVERT_TO_BINARY", (b"\xff\x00", True)),
    (False, None, (b"\xff\x00", False)),
])
def test_integration_request_body_conversions(binary, handling, expected):
    assert content.integration_request_body(b"\xff\x00", binary, handling) == expected


def test_convert_to_binary_decodes_text_and_fails_with_500_on_bad_base64():
    assert content.integration_request_body(b"aGk=", False, "CONVERT_TO_BINARY") == (b"hi", True)
    with pytest.raises(errors.GatewayError) as caught:
        content.integration_request_body(b"not base64!", False, "CONVERT_TO_BINARY")
    assert (caught.value.status, caught.value.body) == (500, '{"message": "Internal server error"}')


# --- proxy event ----------------------------------------------------------------------------


def test_proxy_event_shape():
    inv = invocation(headers=(("Accept", "a/b"), ("X-Dup", "1"), ("X-Dup", "2"), ("Content-Length", "3")),
                     query=(("a", "1"), ("a", "2"), ("b", "")), body=b"abc", http_method="POST",
                     variables={"env": "test"})
    event = proxy.build_event(inv, ())
    assert list(event) == ["resource", "path", "httpMethod", "headers", "multiValueHeaders",
                           "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
                           "stageVariables", "requestContext", "body", "isBase64Encoded"]
    assert event["headers"]["X-Dup"] == "2"
    assert event["multiValueHeaders"]["X-Dup"] == ["1", "2"]
    assert "Content-Length" not in event["headers"]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.9"
    assert event["headers"]["X-Forwarded-Port"] == "4566"
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["stageVariables"] == {"env": "test"}
    assert (event["body"], event["isBase64Encoded"]) == ("abc", False)
    context = event["requestContext"]
    assert context["requestTime"] == "05/Mar/2024:07:08:09 +0000"
    assert context["requestTimeEpoch"] == 1709622489000
    assert context["path"] == "/dev/items/1"
    assert context["identity"]["sourceIp"] == "10.0.0.9"
    assert "apiKey" not in context["identity"]


def test_proxy_event_appends_to_a_forwarded_for_chain():
    event = proxy.build_event(invocation(headers=(("X-Forwarded-For", "1.2.3.4"),)), ())
    assert event["headers"]["X-Forwarded-For"] == "1.2.3.4, 10.0.0.9"


def test_proxy_event_nulls():
    event = proxy.build_event(invocation(params={}), ())
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert (event["body"], event["isBase64Encoded"]) == (None, False)


def test_proxy_event_base64_only_for_binary_content_type():
    binary = invocation(headers=(("Content-Type", "image/png"),), body=b"\x89PNG", http_method="POST",
                        binary_media_types=("image/*",))
    event = proxy.build_event(binary, ("image/*",))
    assert (event["body"], event["isBase64Encoded"]) == (base64.b64encode(b"\x89PNG").decode(), True)
    text = invocation(headers=(("Content-Type", "text/plain"),), body=b"hi", http_method="POST")
    assert proxy.build_event(text, ("image/*",))["isBase64Encoded"] is False


def test_format_request_time():
    assert format_request_time(datetime(2015, 4, 9, 12, 34, 56, tzinfo=timezone.utc)) == "09/Apr/2015:12:34:56 +0000"


# --- proxy response -------------------------------------------------------------------------


def test_proxy_response_mapping():
    payload = json.dumps({"statusCode": "202", "headers": {"A": "1", "Flag": True},
                          "multiValueHeaders": {"B": ["x", "y"]}, "body": "hi"}).encode()
    answer = proxy.map_response(payload, None, accept_is_binary=False)
    assert answer.status == 202
    assert answer.body == b"hi"
    assert answer.headers == [("B", "x"), ("B", "y"), ("A", "1"), ("Flag", "true"),
                              ("Content-Type", "application/json")]


def test_proxy_base64_body_decoded_only_for_binary_accept():
    payload = json.dumps({"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(),
                          "isBase64Encoded": True}).encode()
    assert proxy.map_response(payload, None, accept_is_binary=True).body == b"\x00\xff"
    assert proxy.map_response(payload, None, accept_is_binary=False).body == base64.b64encode(b"\x00\xff")


@pytest.mark.parametrize("payload", [
    b"not json", b"[]", b'"text"', b"null", b"",
    b'{"statusCode": "abc"}', b'{"statusCode": true}', b'{"body": 5}', b'{"body": {"a": 1}}',
    b'{"headers": {"A": 1}}', b'{"headers": []}', b'{"isBase64Encoded": 1}', b'{"statusCode": 200, "extra": 1}',
])
def test_malformed_proxy_responses_are_502(payload):
    with pytest.raises(errors.GatewayError) as caught:
        proxy.map_response(payload, None, accept_is_binary=False)
    assert (caught.value.status, caught.value.body) == (502, '{"message": "Internal server error"}')
    assert caught.value.error_type == "InternalServerErrorException"


def test_function_error_is_502():
    with pytest.raises(errors.GatewayError) as caught:
        proxy.map_response(b'{"statusCode": 200}', "Unhandled", accept_is_binary=False)
    assert caught.value.status == 502


# --- mapping templates ----------------------------------------------------------------------

PARAMS = {"path": {"id": "7"}, "querystring": {"q": "x y"}, "header": {"Content-Type": "application/json", "X-Y": "h"}}
BODY = '{"a": {"n": 1, "ok": true, "none": null}, "l": [1, {"x": "y"}], "s": "it\'s"}'


def render(template: str, body: str = BODY, context: dict | None = None, stage_variables: dict | None = None):
    return vtl.render(template, body=body, params=PARAMS, context=context or {"requestId": "r-1"},
                      stage_variables=stage_variables or {})


@pytest.mark.parametrize(("template", "expected"), [
    ("$input.body", BODY),
    ("$input.json('$.a')", '{"n":1,"ok":true,"none":null}'),
    ("$input.json('$.l[1]')", '{"x":"y"}'),
    ("$input.json('$.s')", '"it\'s"'),
    ("$input.path('$.a.n')", "1"),
    ("$input.json('$.missing')|$input.path('$.missing')", "null|"),
    ("$input.path('$.a')", "{n=1, ok=true, none=null}"),
    ("$input.path('$.l')", '[1,{"x":"y"}]'),
    ("$input.path('$.l').size()", "2"),
    ("$input.path('$.a').keySet()", "[n, ok, none]"),
    ("$input.path('$.l[*]').size()", "2"),
    ("$input.params('id')|$input.params('q')|$input.params('x-y')|$input.params('nope')", "7|x y|h|"),
    ("$input.params().path", "{id=7}"),
    ("$input.params().header.get('X-Y')", "h"),
    ("$util.base64Encode('héllo')", base64.b64encode("héllo".encode()).decode()),
    ("$util.base64Decode('aMOpbGxv')", "héllo"),
    ("$util.escapeJavaScript($input.path('$.s'))", "it\\'s"),
    ("$util.escapeJavaScript('a\"b/c\\d\n\té€😀')", 'a\\"b\\/c\\\\d\\n\\t\\u00E9\\u20AC\\uD83D\\uDE00'),
    ("$util.parseJson('{\"k\": [1, 2]}').k.size()", "2"),
    ("$util.parseJson('{\"k\": {\"v\": 3}}').k.v", "3"),
    ("$util.urlEncode('a b~*&é')", "a+b%7E*%26%C3%A9"),
    ("$util.urlDecode('a+b%26')", "a b&"),
    ("$context.requestId", "r-1"),
    ("$stageVariables.env", "prod"),
    ("#foreach($k in $input.path('$.a').keySet())$k;#end", "n;ok;none;"),
])
def test_template_features(template, expected):
    assert render(template, stage_variables={"env": "prod"}).text == expected


def test_empty_body_reads_as_an_empty_json_object():
    assert render("$input.body|$input.json('$')", body="").text == "{}|{}"


def test_non_json_body_is_one_string_value():
    assert render("$input.path('$')|$input.json('$')", body="plain").text == 'plain|"plain"'


def test_context_response_override():
    rendered = render("#set($context.responseOverride.status = 418)"
                      "#set($context.responseOverride.header.X-Tea = 'pot'){}")
    assert (rendered.text, rendered.status_override, rendered.header_overrides) == ("{}", 418, {"X-Tea": "pot"})
    assert render("#set($context.responseOverride.status = 99){}").status_override is None


def test_broken_template_is_500():
    with pytest.raises(errors.GatewayError) as caught:
        render("$util.parseJson('{not json')")
    assert caught.value.status == 500


# --- integrations ---------------------------------------------------------------------------


def integration_with(*responses: IntegrationResponse, templates: dict | None = None,
                     passthrough: str | None = None, timeout=None) -> Integration:
    integ = Integration("MOCK", "", "POST", request_templates=templates, passthrough_behavior=passthrough,
                        timeout_in_millis=timeout)
    integ.integration_responses = {r.status_code: r for r in responses}
    return integ


def test_selection_pattern_must_match_the_whole_string():
    integ = integration_with(IntegrationResponse("200"), IntegrationResponse("404", "Not found.*"),
                             IntegrationResponse("500", ".*[Ee]rror.*"))
    assert integrations.select_integration_response(integ, "Not found: 1").status_code == "404"
    assert integrations.select_integration_response(integ, "Item Not found").status_code == "200"
    assert integrations.select_integration_response(integ, "An error").status_code == "500"
    assert integrations.select_integration_response(integ, "").status_code == "200"
    assert integrations.select_integration_response(integ, "line one\nError").status_code == "200"


def test_no_default_integration_response_is_500():
    with pytest.raises(errors.GatewayError) as caught:
        integrations.select_integration_response(integration_with(IntegrationResponse("404", "x")), "y")
    assert caught.value.status == 500
    with pytest.raises(errors.GatewayError):
        integrations.select_integration_response(integration_with(), "")


@pytest.mark.parametrize(("templates", "passthrough", "content_type", "expected"), [
    ({"application/json": "T"}, None, None, "T"),  # no Content-Type: JSON assumed
    ({"application/json": "T"}, None, "application/json; charset=utf-8", "T"),
    ({"application/json": "T"}, "WHEN_NO_MATCH", "text/plain", None),
    (None, "WHEN_NO_TEMPLATES", "text/plain", None),
    ({"application/json": "T"}, "WHEN_NO_TEMPLATES", "text/plain", 415),
    ({"application/json": "T"}, "NEVER", "text/plain", 415),
    (None, "NEVER", "text/plain", 415),
])
def test_request_template_selection_and_passthrough(templates, passthrough, content_type, expected):
    integ = integration_with(templates=templates, passthrough=passthrough)
    if expected == 415:
        with pytest.raises(errors.GatewayError) as caught:
            integrations.request_template(integ, content_type)
        assert (caught.value.status, caught.value.body) == (415, '{"message":"Unsupported Media Type"}')
    else:
        assert integrations.request_template(integ, content_type) == expected


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/xml", ("application/xml", "X")),
    ("text/html, application/xml", ("text/plain", "T")),  # first type unknown: JSON, else the first
    (None, ("text/plain", "T")),
])
def test_response_template_selection(accept, expected):
    response = IntegrationResponse("200", response_templates={"text/plain": "T", "application/xml": "X"})
    assert integrations.response_template(response, accept) == expected
    with_json = IntegrationResponse("200", response_templates={"text/plain": "T", "application/json": "J"})
    assert integrations.response_template(with_json, "text/html") == ("application/json", "J")
    assert integrations.response_template(IntegrationResponse("200"), "a/b") == ("application/json", None)


@pytest.mark.parametrize(("raw", "expected"), [(None, 29000), ("1000", 1000), (40000, 29000), (10, 50), ("x", 29000)])
def test_timeout_in_millis(raw, expected):
    assert integrations.timeout_ms(integration_with(timeout=raw)) == expected


def test_call_with_timeout():
    assert integrations.call_with_timeout(lambda: 5, 1000) == 5
    with pytest.raises(errors.GatewayError) as caught:
        integrations.call_with_timeout(lambda: time.sleep(2), 50)
    assert (caught.value.status, caught.value.body) == (504, '{"message": "Endpoint request timed out"}')

    def fail():
        raise KeyError("inner")

    with pytest.raises(KeyError):
        integrations.call_with_timeout(fail, 1000)


@pytest.mark.parametrize(("uri", "variables", "expected"), [
    ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations",
     {}, ("arn:aws:lambda:us-east-1:123456789012:function:f", None)),
    ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f:live/invocations",
     {}, ("arn:aws:lambda:us-east-1:123456789012:function:f", "live")),
    ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}/invocations",
     {"fn": "g"}, ("arn:aws:lambda:us-east-1:123456789012:function:g", None)),
    ("arn:aws:apigateway:us-east-1:s3:path/bucket/key", {}, None),
])
def test_lambda_target(uri, variables, expected):
    assert integrations.lambda_target(uri, variables) == expected


# --- wire -----------------------------------------------------------------------------------


def environ_with_body(size: int) -> dict:
    return {"wsgi.input": io.BytesIO(b"x" * size), "CONTENT_LENGTH": str(size)}


def test_body_limit():
    limit = errors.MAX_BODY_BYTES
    assert len(responses.read_body(environ_with_body(limit))) == limit
    environ = environ_with_body(limit + 1)
    with pytest.raises(errors.GatewayError) as caught:
        responses.read_body(environ)
    assert (caught.value.status, caught.value.body) == (413, f"HTTP content length exceeded {limit} bytes.")
    assert environ["wsgi.input"].read() == b""  # drained, so the client sees the 413


def test_gateway_error_bodies():
    assert errors.missing_authentication_token("r").body == '{"message":"Missing Authentication Token"}'
    assert errors.forbidden("r").body == '{"message":"Forbidden"}'
    assert errors.internal_server_error("r", 502).error_type == "InternalServerErrorException"


def test_api_key_source_authorizer_is_refused():
    from localcloud.apigateway import apikeys

    target = stage()
    target = StageTarget(**{**target.__dict__, "api": DeployedApi((), (), "AUTHORIZER")})
    request = SimpleNamespace(header=lambda name: "some-key")
    with pytest.raises(errors.GatewayError) as caught:
        apikeys.require_key(request, target)
    assert caught.value.body == '{"message":"Forbidden"}'
