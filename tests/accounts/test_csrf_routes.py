"""Every write route of the REST API refuses a signed-in session without the CSRF token:
the routes are enumerated from the Ninja API itself, so a new one is checked too."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from retain.accounts.auth import SAFE_METHODS
from retain.accounts.models import Role
from retain.customers.models import Customer
from retain.server.api import api
from tests.accounts.builders import make_api_key, make_user

pytestmark = pytest.mark.django_db

#: A value for each path parameter that a route would accept.
PATH_VALUES = {"kind": "customers", "customer_id": "c-1", "name": "swagger-ui.css",
               "key": "win-back"}  # fmt: skip


def _api_routes() -> list[tuple[str, str]]:
    """Every (method, path template) the API serves, from its routers."""
    routes = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                routes += [(method, f"/api/v1{prefix}{path}") for method in operation.methods]
    return routes


def _unsafe_routes() -> list[tuple[str, str]]:
    return sorted((m, p) for m, p in _api_routes() if m not in SAFE_METHODS)


def _url(template: str) -> str:
    return re.sub(r"\{(?:\w+:)?(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template)


def test_the_enumeration_covers_every_write_of_the_openapi_document() -> None:
    document = api.get_openapi_schema()
    documented = sorted(
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        # The tracking door (/v1/...) is documented too; it takes write keys, never sessions.
        if method.upper() not in SAFE_METHODS and path.startswith("/api/v1/")
    )
    enumerated = [(m, re.sub(r"\{\w+:", "{", p)) for m, p in _unsafe_routes()]
    assert documented == enumerated
    assert ("POST", "/api/v1/imports/{kind}") in documented


@pytest.mark.parametrize(("method", "template"), _unsafe_routes())
def test_a_session_write_without_the_token_is_a_403(method: str, template: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=Role.ADMIN))
    client.get("/api/v1/auth/csrf")  # the cookie is there; only the header is missing
    upload = SimpleUploadedFile("customers.csv", b"customer_id\nc-1\n", "text/csv")

    response = (
        client.generic(method, _url(template))
        if method != "POST"
        else (client.post(_url(template), {"file": upload}))
    )

    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "permission_denied"
    assert body["detail"].startswith("CSRF check failed")
    assert not Customer.objects.exists()


# The import runs in a process of its own: it sees only committed rows, and waits for none of
# the test's locks.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_upload_workspace")
def test_a_session_import_with_the_token_is_stored() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=Role.ANALYST))
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    upload = SimpleUploadedFile("customers.csv", b"customer_id\nc-1\n", "text/csv")

    response = client.post("/api/v1/imports/customers", {"file": upload},
                           headers={"X-CSRFToken": token})  # fmt: skip

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["c-1"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_upload_workspace")
def test_a_keyed_import_beside_a_session_needs_no_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=Role.AGENT))
    _, key = make_api_key("import")
    upload = SimpleUploadedFile("customers.csv", b"customer_id\nc-1\n", "text/csv")

    response = client.post("/api/v1/imports/customers", {"file": upload},
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip

    assert response.status_code == 200, response.content
    assert Customer.objects.count() == 1
