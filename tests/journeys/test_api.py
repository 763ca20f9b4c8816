"""``/api/v1/journeys``: reading with ``read`` or ``journeys``, changing with ``journeys``;
a refused document is a 400 problem listing every mistake with its line."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from retain.accounts.models import Role
from retain.journeys.models import Journey
from tests.accounts.builders import make_api_key, make_user
from tests.journeys.builders import apply_journey, journey_data, journey_text

pytestmark = pytest.mark.django_db

URL = "/api/v1/journeys"


def client_with(*scopes: str) -> Client:
    _, plain = make_api_key(*scopes, name="crm")
    return Client(headers={"Authorization": f"Bearer {plain}"})


@pytest.fixture
def manager() -> Client:
    return client_with("journeys")


def post_yaml(client: Client, text: str, url: str = URL) -> object:
    return client.post(url, text, content_type="text/yaml")


def test_apply_yaml_creates_then_changes_then_leaves_unchanged(manager: Client) -> None:
    created = post_yaml(manager, journey_text("win-back"))
    assert created.status_code == 201, created.content
    assert created.json() == {"key": "win-back", "outcome": "created", "version": 1,
                              "status": "active", "source": "api"}  # fmt: skip
    changed = post_yaml(manager, journey_text("win-back", name="Changed"))
    assert (changed.status_code, changed.json()["outcome"], changed.json()["version"]) == (
        200, "new version", 2
    )  # fmt: skip
    same = post_yaml(manager, journey_text("win-back", name="Changed"))
    assert (same.status_code, same.json()["outcome"], same.json()["version"]) == (
        200, "unchanged", 2
    )  # fmt: skip
    key = Journey.objects.get().current
    assert key.applied_by.startswith("api key crm (")


@pytest.mark.parametrize("wrapped", [True, False])
def test_apply_json_wrapped_or_as_the_journey_itself(manager: Client, wrapped: bool) -> None:
    data = journey_data("win-back")
    body = {"document": json.dumps(data)} if wrapped else data
    response = manager.post(URL, body, content_type="application/json")
    assert response.status_code == 201, response.content


def test_a_refused_document_is_a_400_with_every_problem_and_its_line(manager: Client) -> None:
    text = journey_text("win-back", holdout=5, steps=[{"wait": {"days": -1}}, {"jump": {}}])
    response = post_yaml(manager, text)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "data_error"
    assert problem["problems"] == [
        "api:7: steps[0].wait.days: Input should be greater than or equal to 0",
        "api:8: steps[1]: a step needs exactly one kind of email, webhook, wait, wait_for, "
        "branch, split, set, exit; it has jump",
        "api:9: holdout: Input should be less than or equal to 0.9",
    ]
    assert not Journey.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"key: caf\xe9", "text/yaml", "the body is not UTF-8 text (byte 9)"),
        (b"{not json", "application/json", "the body is not JSON"),
        (b'{"document": 5}', "application/json",
         "document: expected the journey's text (YAML or JSON), a string"),
        (b"key: x", "application/xml", "send the document as text/yaml or as JSON, not "
         "application/xml"),
    ],
)  # fmt: skip
def test_a_body_that_is_no_document_is_a_400(
    manager: Client, body: bytes, content_type: str, detail: str
) -> None:
    response = manager.post(URL, body, content_type=content_type)
    assert (response.status_code, response.json()["detail"]) == (400, detail)


def test_a_body_over_the_limit_is_a_413_problem(manager: Client, settings) -> None:
    text = "description: '" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + "'\n"
    response = post_yaml(manager, text)
    assert (response.status_code, response["Content-Type"]) == (413, "application/problem+json")
    assert response.json()["detail"].startswith("the body is larger than ")


def test_list_and_one_with_its_versions(manager: Client) -> None:
    apply_journey("win-back", source="win-back.yaml", applied_by="cli")
    apply_journey("win-back", name="Second", source="win-back.yaml", applied_by="cli")
    apply_journey("a-journey")
    listed = manager.get(URL).json()
    assert [(j["key"], j["name"], j["status"], j["version"]) for j in listed] == [
        ("a-journey", "Journey a-journey", "active", 1), ("win-back", "Second", "active", 2)
    ]  # fmt: skip
    one = manager.get(f"{URL}/win-back").json()
    assert [(v["number"], v["current"], v["applied_by"]) for v in one["versions"]] == [
        (2, True, "cli"), (1, False, "cli")
    ]  # fmt: skip
    version = manager.get(f"{URL}/win-back/versions/1").json()
    assert version["source_text"] == journey_text("win-back")
    assert (version["document"]["name"], version["current"]) == ("Journey win-back", False)


@pytest.mark.parametrize(
    "path", ["/nope", "/nope/versions/1", "/win-back/versions/2", "/Bad%00Key"]
)
def test_unknown_journeys_and_versions_are_404(manager: Client, path: str) -> None:
    apply_journey("win-back")
    response = manager.get(f"{URL}{path}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_pause_resume_archive(manager: Client) -> None:
    apply_journey("win-back")
    paused = manager.post(f"{URL}/win-back/pause")
    assert paused.json() == {"key": "win-back", "before": "active", "after": "paused",
                             "changed": True}  # fmt: skip
    assert manager.post(f"{URL}/win-back/archive").json()["after"] == "archived"
    assert manager.post(f"{URL}/win-back/archive").json()["changed"] is False
    refused = manager.post(f"{URL}/win-back/pause")
    assert (refused.status_code, refused.json()["code"]) == (422, "rule_violation")
    assert manager.post(f"{URL}/win-back/resume").json()["after"] == "active"
    assert manager.post(f"{URL}/nope/resume").status_code == 404


def test_reading_needs_read_or_journeys(manager: Client) -> None:
    apply_journey("win-back")
    assert manager.get(URL).status_code == 200
    assert client_with("read").get(f"{URL}/win-back").status_code == 200
    refused = client_with("track").get(URL)
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert "'read' scope" in refused.json()["detail"]
    assert Client().get(URL).status_code == 401
    wrong = Client(headers={"Authorization": "Bearer rk_nothing_here"}).get(URL)
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", ["", "/win-back/pause", "/win-back/resume", "/win-back/archive"])
def test_changing_needs_the_journeys_scope(path: str) -> None:
    apply_journey("win-back")
    response = client_with("read", "write").post(
        f"{URL}{path}", journey_text("win-back", name="X"), content_type="text/yaml"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "changing journeys needs the 'journeys' scope"
    assert Journey.objects.get().status == "active" and Journey.objects.get().name != "X"


@pytest.mark.parametrize(("role", "allowed"), [(Role.ADMIN, True), (Role.ANALYST, True),
                                               (Role.AGENT, False)])  # fmt: skip
def test_roles_that_manage_journeys(role: Role, allowed: bool) -> None:
    user = make_user(role=role)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = client.post(URL, journey_text("win-back"), content_type="text/yaml",
                           headers={"X-CSRFToken": token})  # fmt: skip
    assert response.status_code == (201 if allowed else 403), response.content
    if allowed:
        assert Journey.objects.get().current.applied_by == f"user {user.username}"
    assert client.get(URL).status_code == 200


def test_a_signed_in_write_without_the_csrf_token_is_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=Role.ADMIN))
    response = client.post(URL, journey_text("win-back"), content_type="text/yaml")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Journey.objects.exists()
