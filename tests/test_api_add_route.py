"""helpers.api.add_route: one more route to the receiver (exercise 5.1), kept by ensure, removed by delete."""

from __future__ import annotations

import json

import pytest
import requests

from helpers import api, lambdas, workbook
from helpers.prerequisites import MissingPrerequisite
from tests.localcloud.lambdas import ECHO_PROXY


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "api-route", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def receiver(wb, tmp_path_factory):
    source = tmp_path_factory.mktemp("api_route") / "api_receiver.py"
    source.write_text(ECHO_PROXY)
    return lambdas.deploy(wb, "api_receiver", source=source).arn


@pytest.fixture
def fresh(wb, receiver):
    api.delete(wb, receiver)
    yield
    api.delete(wb, receiver)


def _sids(wb, receiver):
    try:
        policy = wb.client("lambda").get_policy(FunctionName=receiver)["Policy"]
    except wb.client("lambda").exceptions.ResourceNotFoundException:
        return {}
    return {s["Sid"]: s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in json.loads(policy)["Statement"]}


def test_a_route_is_served_with_its_own_permission_and_adding_it_again_changes_nothing(wb, receiver, fresh):
    built = api.ensure(wb, receiver)
    before = requests.get(f"{built.url}/images", timeout=30)
    assert (before.status_code, before.json()["error"]) == (404, "NoSuchRoute")

    added = api.add_route(wb, receiver, "GET", "/images")
    assert added.changed and added.id == built.id and added.url == built.url
    answer = requests.get(f"{built.url}/images", timeout=30)
    assert (answer.status_code, answer.json()["route"]) == (200, "GET /images")
    assert _sids(wb, receiver)["api-route-image-api-get-images"] == \
        f"arn:aws:execute-api:us-east-1:123456789012:{built.id}/*/GET/images"
    assert not api.add_route(wb, receiver, "GET", "/images").changed
    assert any(line.startswith("GET  /images ") for line in api.routes(wb))


def test_ensure_keeps_an_added_route_and_delete_removes_its_permission(wb, receiver, fresh):
    built = api.ensure(wb, receiver)
    api.add_route(wb, receiver, "GET", "/images")
    assert api.ensure(wb, receiver).changed  # the stage served add_route's deployment: ensure deploys its own
    assert requests.get(f"{built.url}/images", timeout=30).json()["route"] == "GET /images"
    assert api.delete(wb, receiver)
    assert _sids(wb, receiver) == {}


def test_a_new_resource_is_created_under_its_parent(wb, receiver, fresh):
    built = api.ensure(wb, receiver)
    api.add_route(wb, receiver, "GET", "/images/{id}/labels")
    answer = requests.get(f"{built.url}/images/abc/labels", timeout=30)
    assert answer.json()["route"] == "GET /images/{id}/labels"
    assert "api-route-image-api-get-images-id-labels" in _sids(wb, receiver)


def test_without_the_api_it_names_the_notebook_to_run(wb, receiver, fresh):
    with pytest.raises(MissingPrerequisite, match="05_api"):
        api.add_route(wb, receiver, "GET", "/images")
