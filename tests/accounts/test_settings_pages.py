"""The admins' settings pages (/settings/keys/, /settings/users/) on Django's test client:
who may open them, what they show, and bad input answered with the form again, never a 500."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from retain.accounts.models import ApiKey, User
from retain.accounts.services import authenticate_api_key, create_api_key
from retain.errors import Conflict, PermissionDenied, RuleViolation
from tests.console.builders import PASSWORD, make_user, signed_in

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "correct horse battery 42"


def _routes(key: ApiKey, target: User) -> list[str]:
    return [
        "/settings/",
        "/settings/keys/",
        f"/settings/keys/{key.prefix}/revoke/",
        "/settings/users/",
        f"/settings/users/{target.pk}/role/",
        f"/settings/users/{target.pk}/active/",
    ]


@pytest.mark.parametrize("role", ["analyst", "agent"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_analysts_and_agents_are_refused_every_page_and_action(role: str, method: str) -> None:
    key, _ = create_api_key("shop", scopes=["read"])
    target = make_user("agent")
    client = signed_in(make_user(role))
    data = {"role": "admin", "active": "0", "name": "x", "scopes": ["read"], "username": "eve",
            "password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD}  # fmt: skip
    for url in _routes(key, target):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, url
        assert "may not open this page or do this" in response.content.decode()
    key.refresh_from_db()
    target.refresh_from_db()
    assert key.revoked_at is None
    assert (target.role, target.is_active) == ("agent", True)
    assert ApiKey.objects.count() == 1 and not User.objects.filter(username="eve").exists()


def test_a_signed_out_visitor_is_sent_to_sign_in() -> None:
    key, _ = create_api_key("shop", scopes=["read"])
    for url in _routes(key, make_user("agent")):
        for method in ("get", "post"):
            response = getattr(Client(), method)(url)
            assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_every_form_needs_its_csrf_token() -> None:
    admin = make_user("admin")
    key, _ = create_api_key("shop", scopes=["read"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    for url in _routes(key, make_user("agent"))[1:]:
        assert client.post(url, {"role": "admin", "active": "0"}).status_code == 403, url
    html = client.get("/settings/keys/").content.decode()
    assert html.count('name="csrfmiddlewaretoken"') >= 2  # sign-out and the key form
    key.refresh_from_db()
    assert key.revoked_at is None


def test_other_methods_are_not_allowed() -> None:
    client = signed_in()
    assert client.put("/settings/keys/").status_code == 405
    assert client.get("/settings/users/1/role/").status_code == 405


def test_the_menu_has_settings_for_admins_only() -> None:
    assert 'href="/settings/"' in signed_in().get("/").content.decode()
    assert 'href="/settings/"' not in signed_in(make_user("analyst")).get("/").content.decode()
    assert signed_in().get("/settings/")["Location"] == "/settings/keys/"


def test_the_keys_are_listed_with_their_prefix_never_their_hash() -> None:
    key, plain = create_api_key("shop tracking", scopes=["track", "read"])
    html = signed_in().get("/settings/keys/").content.decode()
    assert "shop tracking" in html and key.prefix in html and "read, track" in html
    assert key.secret_hash not in html and plain not in html


def test_a_new_key_is_shown_once_and_works() -> None:
    client = signed_in()
    response = client.post(
        "/settings/keys/", {"name": "warehouse", "scopes": ["read", "import"], "expires_in": "30"}
    )
    assert (response.status_code, response["Location"]) == (302, "/settings/keys/")
    key = ApiKey.objects.get(name="warehouse")
    assert key.scopes == ["import", "read"] and key.expires_at is not None
    page = client.get("/settings/keys/")
    html = page.content.decode()
    plain = re.search(r'id="new-key-value"[^>]*value="(rk_[^"]+)"', html).group(1)
    assert "it is shown this once" in html
    assert "no-store" in page["Cache-Control"]
    assert authenticate_api_key(plain, scope="read") == key
    assert plain not in client.get("/settings/keys/").content.decode()  # reloading: gone


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "x"}, "scopes", "Choose at least one scope"),
        ({"name": "x", "scopes": ["delete"]}, "scopes", "Select a valid choice"),
        ({"name": "", "scopes": ["read"]}, "name", "This field is required"),
        ({"name": "x", "scopes": ["read"], "expires_in": "0"}, "expires_in", "or equal to 1"),
        ({"name": "x", "scopes": ["read"], "expires_in": "soon"}, "expires_in", "a whole number"),
        ({"name": "x", "scopes": ["read"], "expires_in": "9999"}, "expires_in", "equal to 3650"),
    ],
)  # fmt: skip
def test_a_bad_key_form_comes_back_with_the_message_by_its_field(
    data: dict, field: str, message: str
) -> None:
    response = signed_in().post("/settings/keys/", data)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert errors is not None and message in errors.group(1)
    assert ApiKey.objects.count() == 0


def test_an_empty_post_is_the_form_again_with_its_messages() -> None:
    client = signed_in()
    for url, field in (("/settings/keys/", "name"), ("/settings/users/", "password")):
        response = client.post(url, {})
        assert response.status_code == 400
        assert f'id="id_{field}_error"' in response.content.decode()


def test_a_refusal_of_the_services_is_shown_on_the_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """What only the services see (a name taken meanwhile, a rule) comes back on the form."""

    def taken(*args, **kwargs):
        raise Conflict("a user named 'nok' exists already", field="username")

    def refused(*args, **kwargs):
        raise RuleViolation("no keys today", field="expires_at")  # not a field of the form

    monkeypatch.setattr("retain.accounts.views.users.create_user", taken)
    monkeypatch.setattr("retain.accounts.views.keys.create_api_key", refused)
    client = signed_in()
    form = {"username": "nok", "role": "agent", "password": GOOD_PASSWORD,
            "confirmation": GOOD_PASSWORD}  # fmt: skip
    response = client.post("/settings/users/", form)
    assert response.status_code == 400
    assert re.search(r'id="id_username_error">.*exists already', response.content.decode(), re.S)
    response = client.post("/settings/keys/", {"name": "x", "scopes": ["read"]})
    assert response.status_code == 400 and "no keys today" in response.content.decode()


def test_revoking_asks_first_then_the_key_is_refused() -> None:
    key, plain = create_api_key("shop", scopes=["read"])
    client = signed_in()
    confirm = client.get(f"/settings/keys/{key.prefix}/revoke/")
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None  # opening the confirmation changes nothing
    response = client.post(f"/settings/keys/{key.prefix}/revoke/")
    assert response["Location"] == "/settings/keys/"
    with pytest.raises(PermissionDenied, match="invalid or revoked"):
        authenticate_api_key(plain, scope="read")
    html = client.get("/settings/keys/").content.decode()
    assert f"The key “shop” ({key.prefix}) is revoked." in html
    assert "revoked already" in client.get(f"/settings/keys/{key.prefix}/revoke/").content.decode()


def test_revoking_an_unknown_prefix_or_a_name_is_not_found() -> None:
    key, _ = create_api_key("shop", scopes=["read"])
    client = signed_in()
    assert client.post("/settings/keys/shop/revoke/").status_code == 404
    assert client.get("/settings/keys/000000000000/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_users_are_listed_with_role_state_and_last_sign_in() -> None:
    admin = make_user("admin")
    make_user("agent", username="gone", is_active=False)
    client = Client()
    client.post("/login/", {"username": admin.username, "password": PASSWORD})
    html = client.get("/settings/users/").content.decode()
    assert "gone" in html and "no (deactivated)" in html and "(you)" in html
    assert re.search(r"<time datetime=\"\d{4}-", html)  # the admin's own last sign-in


def test_an_admin_adds_a_user_who_can_sign_in() -> None:
    client = signed_in()
    response = client.post(
        "/settings/users/",
        {"username": "nok", "role": "analyst", "password": GOOD_PASSWORD,
         "confirmation": GOOD_PASSWORD},
    )  # fmt: skip
    assert response["Location"] == "/settings/users/"
    nok = User.objects.get(username="nok")
    assert (nok.role, nok.is_staff) == ("analyst", False) and nok.check_password(GOOD_PASSWORD)
    assert "nok can sign in now, as Analyst." in client.get("/settings/users/").content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password": "abc", "confirmation": "abc"}, "password", "This password is too short"),
        ({"password": "password123", "confirmation": "password123"}, "password", "too common"),
        ({"confirmation": "something else 42"}, "confirmation", "The two passwords differ"),
        ({"username": "taken"}, "username", "A user named taken exists already"),
        ({"username": "no spaces!"}, "username", "Enter a valid username"),
        ({"role": "owner"}, "role", "Select a valid choice"),
    ],
)
def test_a_bad_user_form_comes_back_with_the_message_by_its_field(
    data: dict, field: str, message: str
) -> None:
    make_user("agent", username="taken")
    before = User.objects.count()
    form = {"username": "nok", "role": "agent", "password": GOOD_PASSWORD,
            "confirmation": GOOD_PASSWORD, **data}  # fmt: skip
    response = signed_in().post("/settings/users/", form)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert errors is not None and message in errors.group(1)
    assert 'aria-invalid="true"' in html
    assert User.objects.count() == before + 1  # the admin signed in; nobody added


def test_an_admin_changes_a_role() -> None:
    ann = make_user("agent")
    client = signed_in()
    response = client.post(f"/settings/users/{ann.pk}/role/", {"role": "admin"})
    assert response["Location"] == "/settings/users/"
    ann.refresh_from_db()
    assert (ann.role, ann.is_staff, ann.is_superuser) == ("admin", True, True)
    assert f"{ann.username} is now Admin." in client.get("/settings/users/").content.decode()


def test_an_admin_cannot_demote_or_deactivate_themself_and_is_told_so() -> None:
    admin = make_user("admin")
    make_user("admin")
    client = signed_in(admin)
    response = client.post(f"/settings/users/{admin.pk}/role/", {"role": "agent"})
    assert response.status_code == 400
    assert "You cannot take the admin role from yourself" in response.content.decode()
    response = client.post(f"/settings/users/{admin.pk}/active/", {"active": "0"})
    assert response.status_code == 400
    assert "You cannot deactivate yourself" in response.content.decode()
    admin.refresh_from_db()
    assert (admin.role, admin.is_active) == ("admin", True)


def test_an_admin_deactivates_and_reactivates_a_user() -> None:
    ann = make_user("analyst")
    client = signed_in()
    ann_client = signed_in(ann)
    client.post(f"/settings/users/{ann.pk}/active/", {"active": "0"})
    assert not User.objects.get(pk=ann.pk).is_active
    assert ann_client.get("/").status_code == 302  # signed out at once
    assert "can no longer sign in" in client.get("/settings/users/").content.decode()
    client.post(f"/settings/users/{ann.pk}/active/", {"active": "1"})
    assert User.objects.get(pk=ann.pk).is_active


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("role", {"role": "owner"}, "Choose one of the roles."),
        ("role", {}, "Choose one of the roles."),
        ("active", {"active": "maybe"}, "Say whether to activate the user."),
    ],
)
def test_bad_role_or_state_input_is_a_400_with_a_message(
    action: str, data: dict, message: str
) -> None:
    ann = make_user("agent")
    response = signed_in().post(f"/settings/users/{ann.pk}/{action}/", data)
    assert response.status_code == 400 and message in response.content.decode()
    ann.refresh_from_db()
    assert (ann.role, ann.is_active) == ("agent", True)


def test_an_unknown_user_is_not_found() -> None:
    client = signed_in()
    assert client.post("/settings/users/999999/role/", {"role": "admin"}).status_code == 404
    assert client.post("/settings/users/999999/active/", {"active": "0"}).status_code == 404
