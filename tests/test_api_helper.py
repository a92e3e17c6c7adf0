"""helpers.api: the REST API is built once and found again by name, its URLs, delete."""

from __future__ import annotations

import json

import pytest
import requests

from helpers import api, lambdas, names, pipeline_client, target, workbook
from helpers.prerequisites import MissingPrerequisite
from tests.localcloud.lambdas import ECHO_PROXY


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "api-helper", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def receiver(wb, tmp_path_factory):
    source = tmp_path_factory.mktemp("api_helper") / "api_receiver.py"
    source.write_text(ECHO_PROXY)
    return lambdas.deploy(wb, "api_receiver", source=source).arn


@pytest.fixture
def fresh(wb, receiver):
    """Every test starts without this prefix's API."""
    api.delete(wb, receiver)
    yield
    api.delete(wb, receiver)


def _layout(wb, api_id):
    """{path: {method: (integration type, uri)}} as API Gateway holds it."""
    items = wb.client("apigateway").get_resources(restApiId=api_id, embed=["methods"])["items"]
    return {item["path"]: {method: (detail["methodIntegration"]["type"], detail["methodIntegration"]["uri"])
                           for method, detail in (item.get("resourceMethods") or {}).items()}
            for item in items}


def _policy(wb, receiver):
    return json.loads(wb.client("lambda").get_policy(FunctionName=receiver)["Policy"])["Statement"]


def _deployments(wb, api_id):
    return wb.client("apigateway").get_deployments(restApiId=api_id)["items"]


def test_ensure_twice_gives_one_api_one_of_each_and_no_duplicate_permission(wb, receiver, fresh):
    first = api.ensure(wb, receiver)
    second = api.ensure(wb, receiver)
    assert first.changed and not second.changed
    assert second.id == first.id and second.url == first.url
    assert [item["id"] for item in wb.client("apigateway").get_rest_apis()["items"]
            if item["name"] == "api-helper-image-api"] == [first.id]

    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{receiver}/invocations"
    assert _layout(wb, first.id) == {
        "/": {},
        "/images": {"POST": ("AWS_PROXY", uri)},
        "/images/{id}": {"GET": ("AWS_PROXY", uri)},
        "/uploads": {"POST": ("AWS_PROXY", uri)},
    }
    rest_api = wb.client("apigateway").get_rest_api(restApiId=first.id)
    assert rest_api["binaryMediaTypes"] == ["image/png", "image/jpeg", "multipart/form-data"]
    assert rest_api["tags"] == {"workbook": "serverless-image-workbook", "workbook-prefix": "api-helper"}

    statements = _policy(wb, receiver)
    assert [(s["Sid"], s["Principal"], s["Condition"]["ArnLike"]["AWS:SourceArn"]) for s in statements] == [
        ("api-helper-image-api-post-images", {"Service": "apigateway.amazonaws.com"},
         f"arn:aws:execute-api:us-east-1:123456789012:{first.id}/*/POST/images"),
        ("api-helper-image-api-get-image", {"Service": "apigateway.amazonaws.com"},
         f"arn:aws:execute-api:us-east-1:123456789012:{first.id}/*/GET/images/*"),
        ("api-helper-image-api-post-uploads", {"Service": "apigateway.amazonaws.com"},
         f"arn:aws:execute-api:us-east-1:123456789012:{first.id}/*/POST/uploads"),
    ]
    responses = {r["responseType"]: (r.get("statusCode"), r["responseTemplates"]["application/json"])
                 for r in wb.client("apigateway").get_gateway_responses(restApiId=first.id)["items"]}
    assert responses == {key: (status, template) for key, (status, template) in api.GATEWAY_RESPONSES.items()}
    assert len(_deployments(wb, first.id)) == 1
    stage = wb.client("apigateway").get_stage(restApiId=first.id, stageName="v1")
    assert stage["deploymentId"] == _deployments(wb, first.id)[0]["id"]
    assert repr(second) == f"api-helper-image-api (stage v1): already up to date\n{second.url}"


def test_ensure_repairs_what_was_changed_by_hand_and_redeploys(wb, receiver, fresh):
    built = api.ensure(wb, receiver)
    apigw, lam = wb.client("apigateway"), wb.client("lambda")
    apigw.update_rest_api(restApiId=built.id,
                          patchOperations=[{"op": "remove", "path": "/binaryMediaTypes/image~1jpeg"}])
    lam.remove_permission(FunctionName=receiver, StatementId="api-helper-image-api-get-image")
    images_id = next(i["id"] for i in apigw.get_resources(restApiId=built.id)["items"] if i["path"] == "/images")
    apigw.delete_method(restApiId=built.id, resourceId=images_id, httpMethod="POST")
    image_id = next(i["id"] for i in apigw.get_resources(restApiId=built.id)["items"] if i["path"] == "/images/{id}")
    apigw.delete_integration(restApiId=built.id, resourceId=image_id, httpMethod="GET")
    apigw.delete_gateway_response(restApiId=built.id, responseType="MISSING_AUTHENTICATION_TOKEN")

    repaired = api.ensure(wb, receiver)
    assert repaired.changed and repaired.id == built.id
    assert sorted(apigw.get_rest_api(restApiId=built.id)["binaryMediaTypes"]) == [
        "image/jpeg", "image/png", "multipart/form-data"]
    assert len(_policy(wb, receiver)) == 3
    assert apigw.get_gateway_response(restApiId=built.id, responseType="MISSING_AUTHENTICATION_TOKEN")[
        "statusCode"] == "404"
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{receiver}/invocations"
    assert _layout(wb, built.id)["/images"] == {"POST": ("AWS_PROXY", uri)}
    assert _layout(wb, built.id)["/images/{id}"] == {"GET": ("AWS_PROXY", uri)}
    assert len(_deployments(wb, built.id)) == 2  # the repaired API is served

    # A deployment made by hand (of whatever the API held then) is replaced by ensure's.
    apigw.create_deployment(restApiId=built.id, stageName="v1", description="by hand")
    assert api.ensure(wb, receiver).changed
    assert not api.ensure(wb, receiver).changed
    assert len(_deployments(wb, built.id)) == 4


def test_a_permission_for_an_older_api_is_replaced_not_added(wb, receiver, fresh):
    lam = wb.client("lambda")
    lam.add_permission(FunctionName=receiver, StatementId="api-helper-image-api-post-images",
                       Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                       SourceArn="arn:aws:execute-api:us-east-1:123456789012:oldapi0001/*/POST/images")
    built = api.ensure(wb, receiver)
    arns = [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in _policy(wb, receiver)]
    assert sorted(arns) == sorted([f"arn:aws:execute-api:us-east-1:123456789012:{built.id}/*/GET/images/*",
                                   f"arn:aws:execute-api:us-east-1:123456789012:{built.id}/*/POST/images",
                                   f"arn:aws:execute-api:us-east-1:123456789012:{built.id}/*/POST/uploads"])
    may = "apigateway.amazonaws.com may invoke it for"
    assert api.permissions(wb, receiver) == [
        f"api-helper-image-api-get-image: {may} GET /images/* (any stage) of this API",
        f"api-helper-image-api-post-images: {may} POST /images (any stage) of this API",
        f"api-helper-image-api-post-uploads: {may} POST /uploads (any stage) of this API",
    ]


def test_the_stage_routes_to_the_function_with_binary_bodies_base64_encoded(wb, receiver, fresh):
    url = api.ensure(wb, receiver).url
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    posted = requests.post(f"{url}/images", data=png, headers={"Content-Type": "image/png"}, timeout=30)
    assert posted.status_code == 200
    assert posted.json() == {"route": "POST /images", "pathParameters": None,
                             "isBase64Encoded": True, "body": "iVBORw0KGgoA/w=="}
    got = requests.get(f"{url}/images/abc", timeout=30).json()
    assert (got["route"], got["pathParameters"]) == ("GET /images/{id}", {"id": "abc"})
    for method, path in (("DELETE", "/images/abc"), ("GET", "/images"), ("POST", "/other")):
        answer = requests.request(method, f"{url}{path}", timeout=30)
        # API Gateway's own answer, in the receiver's shape (the API's gateway responses)
        assert (answer.status_code, answer.json()) == (404, {
            "error": "NoSuchRoute",
            "message": f"no route for {method} /v1{path}: this API has POST /images, POST /uploads and "
                       "GET /images/{id}"})
        assert answer.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert api.routes(wb) == [
        f"POST /images        -> AWS_PROXY {wb.names.function('api_receiver')}",
        f"GET  /images/{{id}}   -> AWS_PROXY {wb.names.function('api_receiver')}",
        f"POST /uploads       -> AWS_PROXY {wb.names.function('api_receiver')}",
    ]


def test_url_forms_local_and_aws(wb, receiver, fresh, localcloud):
    built = api.ensure(wb, receiver)
    assert built.url == f"{localcloud}/_aws/execute-api/{built.id}/v1"
    assert api.find(wb) == api.Api(built.id, "api-helper-image-api", "v1", built.url)
    assert api.url_of(wb) == built.url

    def on_aws(region):
        return workbook.Workbook(target=target.Target("aws", region, None),
                                 names=names.Names("alice", "111122223333", region))

    assert api.invoke_url(on_aws("eu-west-1"), "a1b2c3d4e5") == \
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1"
    assert api.invoke_url(on_aws("cn-north-1"), "a1b2c3d4e5") == \
        "https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/v1"
    assert api.source_arn(on_aws("eu-west-1"), "a1b2c3d4e5", "/images/{id}", "GET") == \
        "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/*/GET/images/*"


def test_url_of_a_missing_api_names_the_notebook(wb, receiver, fresh):
    assert api.find(wb) is None
    with pytest.raises(MissingPrerequisite, match=r"api-helper-image-api does not exist yet: run notebooks/05_api"):
        api.url_of(wb)


def test_delete_removes_every_api_of_the_name_and_the_permissions(wb, receiver, fresh):
    built = api.ensure(wb, receiver)
    wb.client("apigateway").create_rest_api(name="api-helper-image-api")  # a duplicate, made by hand
    with pytest.raises(RuntimeError, match="2 REST APIs are named api-helper-image-api"):
        api.find(wb)
    with pytest.raises(RuntimeError, match="2 REST APIs"):
        api.ensure(wb, receiver)
    assert api.delete(wb, receiver) is True
    assert api.find(wb) is None
    assert built.id not in [item["id"] for item in wb.client("apigateway").get_rest_apis()["items"]]
    with pytest.raises(wb.client("lambda").exceptions.ResourceNotFoundException):
        wb.client("lambda").get_policy(FunctionName=receiver)
    assert api.delete(wb, receiver) is False
    assert api.permissions(wb, receiver) == []


def test_wait_until_ready_on_the_local_cloud_returns_once_deployed(wb, receiver, fresh, tmp_path):
    receiver_source = tmp_path / "api_receiver.py"
    receiver_source.write_text(
        "import json\n\ndef handler(event, context):\n"
        "    return {'statusCode': 404, 'body': json.dumps({'error': 'NotFound', 'message': 'stand-in'})}\n")
    arn = lambdas.deploy(wb, "api_receiver", source=receiver_source).arn
    try:
        pipeline_client.wait_until_ready(api.ensure(wb, arn).url, timeout=10, interval=0.1)
    finally:
        echo = tmp_path / "echo" / "api_receiver.py"
        echo.parent.mkdir()
        echo.write_text(ECHO_PROXY)
        lambdas.deploy(wb, "api_receiver", source=echo)
