"""Who may read customers over the API: API keys by scope, signed-in users by role, and the
CSRF token that session-authenticated writes (login and logout included) must carry."""

from __future__ import annotations

import os

import pytest
from django.test import Client

from retain.accounts.api import require
from retain.accounts.models import Role, User
from retain.accounts.services import revoke_api_key
from retain.cli import main
from retain.errors import PermissionDenied
from tests.accounts.builders import make_api_key, make_user
from tests.customers.builders import make_customer

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


@pytest.fixture
def customer_url() -> str:
    return f"/api/v1/customers/{make_customer().external_id}"


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/customers/any"])
def test_no_credentials_is_a_401(path: str) -> None:
    body = _problem(Client().get(path), 401)
    assert body["code"] == "permission_denied" and "Bearer" in body["detail"]


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer rk_000000000000_wrong", "invalid or revoked API key"),
        ("Bearer nonsense", "invalid or revoked API key"),
        ("Basic dXNlcjpwYXNz", "use 'Authorization: Bearer <API key>'"),
        ("Bearer ", "use 'Authorization: Bearer <API key>'"),
    ],
)
def test_a_wrong_or_malformed_key_is_a_401(customer_url: str, header: str, detail: str) -> None:
    make_api_key("read")
    body = _problem(Client().get(customer_url, headers={"Authorization": header}), 401)
    assert (body["type"], body["code"]) == (
        "urn:retain:error:permission_denied",
        "permission_denied",
    )
    assert body["detail"] == detail


def test_a_revoked_key_is_a_401(customer_url: str) -> None:
    key, plain = make_api_key("read")
    assert (
        Client().get(customer_url, headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    )
    revoke_api_key(key.prefix)
    body = _problem(Client().get(customer_url, headers={"Authorization": f"Bearer {plain}"}), 401)
    assert (body["code"], body["detail"]) == ("permission_denied", "invalid or revoked API key")


def test_a_key_without_the_read_scope_is_a_403(customer_url: str) -> None:
    _, plain = make_api_key("track", "import")
    response = Client().get(customer_url, headers={"Authorization": f"Bearer {plain}"})
    body = _problem(response, 403)
    assert body["code"] == "permission_denied" and body["scope"] == "read"


def test_a_read_key_reads(customer_url: str) -> None:
    _, plain = make_api_key("read")
    response = Client().get(customer_url, headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
    assert response.json()["customer_id"] == customer_url.rsplit("/", 1)[1]


@pytest.mark.parametrize("role", list(Role))
def test_every_role_signs_in_and_reads_customers(role: Role, customer_url: str) -> None:
    user = make_user(role=role)
    client = Client()
    response = client.post("/api/v1/auth/login", {"username": user.username,
                           "password": PASSWORD}, content_type="application/json")  # fmt: skip
    assert response.status_code == 200
    assert response.json()["role"] == role.value and "read" in response.json()["scopes"]
    assert client.get(customer_url).status_code == 200
    assert client.get("/api/v1/customers").json()["total"] == 1
    assert client.get("/api/v1/auth/me").json()["username"] == user.username


def test_me_lists_the_scopes_of_the_role() -> None:
    client = Client()
    client.force_login(make_user(role=Role.ANALYST, username="ann"))
    assert client.get("/api/v1/auth/me").json() == {
        "username": "ann", "role": "analyst", "scopes": ["import", "journeys", "read"],
    }  # fmt: skip


def test_a_wrong_password_is_a_401_and_signs_nobody_in(customer_url: str) -> None:
    user = make_user()
    client = Client()
    response = client.post("/api/v1/auth/login", {"username": user.username,
                           "password": "wrong"}, content_type="application/json")  # fmt: skip
    assert _problem(response, 401)["detail"] == "wrong username or password"
    _problem(client.get(customer_url), 401)
    _problem(client.get("/api/v1/auth/me"), 401)


def test_an_inactive_user_cannot_sign_in() -> None:
    user = make_user(is_active=False)
    response = Client().post("/api/v1/auth/login", {"username": user.username,
                             "password": PASSWORD}, content_type="application/json")  # fmt: skip
    # The right password of a deactivated user gets the same answer as a wrong one.
    assert _problem(response, 401)["detail"] == "wrong username or password"


def test_a_login_without_the_fields_is_a_422() -> None:
    response = Client().post("/api/v1/auth/login", {"username": "x"},
                             content_type="application/json")  # fmt: skip
    body = _problem(response, 422)
    assert body["code"] == "validation_error"
    assert [error["loc"] for error in body["errors"]] == [["body", "credentials", "password"]]


def test_logout_ends_the_session(customer_url: str) -> None:
    client = Client()
    client.force_login(make_user())
    assert client.get(customer_url).status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    _problem(client.get(customer_url), 401)


def test_login_and_logout_need_the_csrf_token() -> None:
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": user.username, "password": PASSWORD}
    refused = client.post("/api/v1/auth/login", credentials, content_type="application/json")
    assert "CSRF" in _problem(refused, 403)["detail"]

    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    signed_in = client.post("/api/v1/auth/login", credentials, content_type="application/json",
                            headers={"X-CSRFToken": token})  # fmt: skip
    assert signed_in.status_code == 200

    assert "CSRF" in _problem(client.post("/api/v1/auth/logout"), 403)["detail"]
    token = client.cookies["csrftoken"].value  # rotated at login
    assert client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token}).status_code == 204
    _problem(client.get("/api/v1/auth/me"), 401)


def test_a_key_needs_no_csrf_token_and_wins_over_a_session(customer_url: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role=Role.ADMIN))
    _, plain = make_api_key("track")
    # The key is what is checked when it is sent, even beside an admin's session.
    refused = _problem(client.get(customer_url, headers={"Authorization": f"Bearer {plain}"}), 403)
    assert (refused["code"], refused["scope"]) == ("permission_denied", "read")
    assert client.get(customer_url).status_code == 200  # the session alone may read


def test_users_create_makes_a_user_who_can_sign_in(monkeypatch, capsys) -> None:
    monkeypatch.setenv("RETAIN_PASSWORD", "correct horse battery")
    assert main(["users", "create", "ann", "--role", "analyst"]) == 0
    assert "'ann' created with the analyst role" in capsys.readouterr().out
    response = Client().post("/api/v1/auth/login", {"username": "ann", "password":
                             "correct horse battery"}, content_type="application/json")  # fmt: skip
    assert response.json()["role"] == "analyst"


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "password: This password is too short"), ("password123", "too common")],
)
def test_users_create_refuses_a_weak_password(monkeypatch, capsys, password, message) -> None:
    monkeypatch.setenv("RETAIN_PASSWORD", password)
    assert main(["users", "create", "bob", "--role", "agent"]) == 2
    assert message in capsys.readouterr().err
    assert not User.objects.filter(username="bob").exists()


def test_users_create_refuses_a_taken_name(monkeypatch, capsys) -> None:
    make_user(username="cy")
    monkeypatch.setenv("RETAIN_PASSWORD", "correct horse battery")
    assert main(["users", "create", "cy", "--role", "admin"]) == 2
    assert "error [conflict]: a user named 'cy' exists already" in capsys.readouterr().err


def test_users_create_prompts_twice_without_the_variable(monkeypatch, capsys) -> None:
    monkeypatch.delenv("RETAIN_PASSWORD", raising=False)
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return "correct horse battery"

    monkeypatch.setattr("getpass.getpass", answer)
    main_side, terminal_side = os.openpty()  # a real terminal on stdin: the prompt may ask
    with os.fdopen(terminal_side) as terminal:
        monkeypatch.setattr("sys.stdin", terminal)
        assert main(["users", "create", "dee", "--role", "agent"]) == 0
    os.close(main_side)
    assert prompts == ["password for dee: ", "again: "]
    assert User.objects.get(username="dee").check_password("correct horse battery")


def test_users_create_refuses_two_different_passwords(monkeypatch, capsys) -> None:
    monkeypatch.delenv("RETAIN_PASSWORD", raising=False)
    answers = iter(["correct horse battery", "correct horse batterY"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    main_side, terminal_side = os.openpty()  # a real terminal on stdin: the prompt may ask
    with os.fdopen(terminal_side) as terminal:
        monkeypatch.setattr("sys.stdin", terminal)
        assert main(["users", "create", "eve", "--role", "agent"]) == 2
    os.close(main_side)
    assert "the two passwords differ" in capsys.readouterr().err
    assert next(answers, "both asked") == "both asked"
    assert not User.objects.filter(username="eve").exists()


def test_a_session_write_to_a_scoped_route_needs_the_csrf_token(rf) -> None:
    """``require(scope)`` guards future write routes too: a session POST without the token
    is refused, a session GET or a keyed POST is not."""
    session_user, bearer_key = require("read")[1], require("read")[0]
    user = make_user(role=Role.AGENT)
    post = rf.post("/api/v1/anything")
    post.user = user
    with pytest.raises(PermissionDenied, match="CSRF") as caught:
        session_user(post)
    assert caught.value.details["status"] == 403
    get = rf.get("/api/v1/anything")
    get.user = user
    assert session_user(get).user == user
    _, plain = make_api_key("read")
    keyed = rf.post("/api/v1/anything", headers={"Authorization": f"Bearer {plain}"})
    keyed.user = user
    assert bearer_key(keyed).key is not None
