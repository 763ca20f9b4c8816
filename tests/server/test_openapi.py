"""The OpenAPI document lists the routes and how to authenticate; the docs page works
offline (every asset from retain itself, none from a CDN)."""

from __future__ import annotations

import re
import urllib.request

import pytest
from django.test import Client

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
