"""The OpenAPI document lists the routes and how to authenticate; the docs page works
offline (every asset from retain itself, none from a CDN)."""

from __future__ import annotations

import re
import urllib.request

import pytest
from django.test import Client

from retain.server.openapi import complete
from tests.store import running_server

pytestmark = pytest.mark.django_db

EXTERNAL_URL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


def test_the_document_lists_the_routes_and_their_security() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert set(paths) >= {
        "/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/auth/login",
        "/api/v1/auth/logout", "/api/v1/auth/me", "/api/v1/auth/csrf",
    }  # fmt: skip
    assert not any("docs" in path for path in paths)
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerKey"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionUser"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    customer = paths["/api/v1/customers/{customer_id}"]["get"]
    assert customer["security"] == [{"BearerKey": []}, {"SessionUser": []}]
    search = {parameter["name"] for parameter in paths["/api/v1/customers"]["get"]["parameters"]}
    assert {"q", "page", "page_size", "lifecycle_stage", "churn_risk", "rfm_segment",
            "acquisition_channel"} <= search  # fmt: skip
    order = document["components"]["schemas"]["OrderOut"]["properties"]
    assert order["amount"]["type"] == "string" and "order_id" in order


def test_the_docs_page_references_no_external_url() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert EXTERNAL_URL.findall(html) == []


def test_the_docs_assets_are_served_from_the_package() -> None:
    client = Client()
    html = client.get("/api/v1/docs").content.decode()
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert len(assets) == 4
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(b"".join(response.streaming_content)) > 100


def test_an_unknown_docs_asset_is_a_404() -> None:
    response = Client().get("/api/v1/docs/assets/swagger-ui.css.map")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    outside = Client().get("/api/v1/docs/assets/..%2F..%2F__init__.py")
    assert outside.status_code == 404
    assert outside.json()["code"] == "not_found"  # refused, not the package's source
    assert b"import" not in outside.content


@pytest.mark.django_db(transaction=True)
def test_the_running_server_serves_the_docs_and_their_assets() -> None:
    with running_server() as base:
        with urllib.request.urlopen(f"{base}/api/v1/docs") as response:
            html = response.read().decode()
        assets = re.findall(r'(?:href|src)="([^"]+)"', html)
        assert len(assets) == 4
        for asset in assets:
            with urllib.request.urlopen(f"{base}{asset}") as response:
                assert response.status == 200 and len(response.read()) > 100


@pytest.mark.django_db
def test_an_unknown_api_address_answers_in_problem_json(client) -> None:
    for path in ("/api/v1/nothing-here", "/v1/nothing-here"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"


TRACKING_CALLS = ("identify", "track", "page", "screen", "group", "alias", "batch")


def _document() -> dict:
    return Client().get("/api/v1/openapi.json").json()


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, operation) for path, operations in document["paths"].items()
            for method, operation in operations.items()]  # fmt: skip


def test_every_route_lists_its_refusals_in_problem_json() -> None:
    document = _document()
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type", "title", "status", "code", "detail",
    ]  # fmt: skip
    codes = {}
    for method, path, operation in _operations(document):
        refusals = {status: response for status, response in operation["responses"].items()
                    if int(status) >= 400}  # fmt: skip
        for status, response in refusals.items():
            assert response["description"], (method, path, status)
            media = response["content"]["application/problem+json"]["schema"]
            assert media == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
        codes[f"{method.upper()} {path}"] = sorted(int(status) for status in refusals)
    assert codes == {
        "GET /api/v1/auth/csrf": [],
        "POST /api/v1/auth/login": [400, 401, 403, 408, 413, 422, 429, 503],
        "POST /api/v1/auth/logout": [403],
        "GET /api/v1/auth/me": [401],
        "GET /api/v1/customers": [401, 403, 422],
        "GET /api/v1/customers/{customer_id}": [400, 401, 403, 404, 422],
        "POST /api/v1/imports/{kind}": [400, 401, 403, 404, 408, 409, 413, 422, 500, 503],
        "GET /api/v1/journeys": [401, 403],
        "POST /api/v1/journeys": [400, 401, 403, 408, 409, 413, 422, 503],
        "GET /api/v1/journeys/{key}": [401, 403, 404, 422],
        "GET /api/v1/journeys/{key}/versions/{number}": [401, 403, 404, 422],
        "GET /api/v1/journeys/{key}/report": [401, 403, 404, 422],
        **{
            f"POST /api/v1/journeys/{{key}}/{action}": [401, 403, 404, 422]
            for action in ("pause", "resume", "archive")
        },
        **{f"POST /v1/{call}": [400, 401, 403, 408, 413, 415, 503] for call in TRACKING_CALLS},
    }
    throttled = document["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["required"] is True
    busy = document["paths"]["/v1/track"]["post"]["responses"]["503"]  # the store was busy
    assert busy["headers"]["Retry-After"]["required"] is True


def test_every_route_states_its_security() -> None:
    document = _document()
    security = {f"{method.upper()} {path}": operation["security"]
                for method, path, operation in _operations(document)}  # fmt: skip
    key_or_session = [{"BearerKey": []}, {"SessionUser": []}]
    assert security == {
        "GET /api/v1/auth/csrf": [],
        "POST /api/v1/auth/login": [],
        "POST /api/v1/auth/logout": [{}, {"SessionUser": []}],
        "GET /api/v1/auth/me": [{"SessionUser": []}],
        "GET /api/v1/customers": key_or_session,
        "GET /api/v1/customers/{customer_id}": key_or_session,
        "POST /api/v1/imports/{kind}": key_or_session,
        **{f"{method} /api/v1/journeys{path}": key_or_session
           for method, path in [("GET", ""), ("POST", ""), ("GET", "/{key}"),
                                ("GET", "/{key}/versions/{number}"), ("GET", "/{key}/report"),
                                ("POST", "/{key}/pause"),
                                ("POST", "/{key}/resume"), ("POST", "/{key}/archive")]},
        **{f"POST /v1/{call}": [{"WriteKey": []}, {"BearerKey": []}, {}]
           for call in TRACKING_CALLS},
    }  # fmt: skip
    assert document["components"]["securitySchemes"]["WriteKey"]["scheme"] == "basic"


def test_the_tracking_door_is_described_as_segment_speaks_it() -> None:
    paths = _document()["paths"]
    track = paths["/v1/track"]["post"]
    body = track["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["messageId", "event"]
    assert body["properties"]["type"]["enum"] == ["track"]
    assert body["anyOf"] == [{"required": ["userId"]}, {"required": ["anonymousId"]}]
    assert "32 KB" in track["description"]
    success = track["responses"]["200"]["content"]["application/json"]["schema"]
    assert success["properties"]["success"] == {"const": True}
    alias = paths["/v1/alias"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert alias["required"] == ["messageId", "previousId", "userId"] and "anyOf" not in alias
    batch = paths["/v1/batch"]["post"]
    messages = batch["requestBody"]["content"]["application/json"]["schema"]["properties"]
    kinds = [item["properties"]["type"]["enum"] for item in messages["batch"]["items"]["oneOf"]]
    assert kinds == [["identify"], ["track"], ["page"], ["screen"], ["group"], ["alias"]]
    assert "500 KB" in batch["description"]


def test_a_route_without_stated_security_cannot_be_documented() -> None:
    document = {"paths": {"/api/v1/new": {"get": {"responses": {200: {"description": "OK"}}}}}}
    with pytest.raises(ValueError, match=r"^GET /api/v1/new: say its security in ROUTE_SECURITY$"):
        complete(document)
