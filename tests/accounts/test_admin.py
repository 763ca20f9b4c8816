"""The Django admin keeps the services' rules: keys are made by the service and shown once,
never their hash; a user's Django flags follow their role; identities are not edited."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from retain.accounts.models import ApiKey, Role, User
from retain.customers.models import Identity
from tests.accounts.builders import make_api_key, make_user
from tests.customers.builders import make_customer, make_identity

pytestmark = pytest.mark.django_db

KEYS = "/admin/accounts/apikey/"
USERS = "/admin/accounts/user/"
PLAIN_KEY = re.compile(r"rk_[0-9a-f]{12}_[A-Za-z0-9_-]+")


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(make_user(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _reads(plain: str):
    return Client().get("/api/v1/customers", headers={"Authorization": f"Bearer {plain}"})


def test_adding_a_key_in_the_admin_shows_a_working_key_once(admin_client: Client) -> None:
    form = admin_client.get(f"{KEYS}add/")
    assert form.status_code == 200 and b'name="scopes"' in form.content
    assert b"secret_hash" not in form.content and b'name="prefix"' not in form.content
    response = admin_client.post(
        f"{KEYS}add/", {"name": "shop", "scopes": ["read", "track"], "expires_in_days": ""},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    shown = [PLAIN_KEY.search(message) for message in _messages(response)]
    plains = [found.group() for found in shown if found]
    assert len(plains) == 1, _messages(response)
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.expires_at) == ("shop", ["read", "track"], None)
    assert plains[0].startswith(f"rk_{key.prefix}_")
    reading = _reads(plains[0])
    assert reading.status_code == 200 and reading.json()["total"] == 0
    # Shown once: the key's pages afterwards hold its prefix, not its secret.
    page = admin_client.get(f"{KEYS}{key.pk}/change/").content.decode()
    assert key.prefix in page and plains[0] not in page


def test_a_key_added_in_the_admin_may_expire(admin_client: Client) -> None:
    admin_client.post(f"{KEYS}add/", {"name": "shop", "scopes": ["read"], "expires_in_days": "7"})
    key = ApiKey.objects.get()
    lifetime = key.expires_at - key.created_at
    assert lifetime.total_seconds() == pytest.approx(7 * 86400, abs=60)


def test_a_key_without_scopes_is_a_form_error_not_a_key(admin_client: Client) -> None:
    response = admin_client.post(f"{KEYS}add/", {"name": "shop", "expires_in_days": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_key_list_and_form_show_the_prefix_never_the_hash(admin_client: Client) -> None:
    key, _ = make_api_key("read", name="shop")
    listing = admin_client.get(KEYS).content.decode()
    change = admin_client.get(f"{KEYS}{key.pk}/change/").content.decode()
    for page in (listing, change):
        assert key.prefix in page
        assert key.secret_hash not in page and "secret" not in page.lower()


def test_keys_are_revoked_from_the_admin_through_the_service(admin_client: Client) -> None:
    key, plain = make_api_key("read", name="shop")
    other, other_plain = make_api_key("read", name="other")
    response = admin_client.post(
        KEYS, {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )
    assert "1 API key(s) revoked." in _messages(response)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None
    assert _reads(plain).status_code == 401 and _reads(other_plain).status_code == 200


def _user_form(user: User, **changes: str) -> dict[str, str]:
    """What the admin's user change form posts, with ``changes``: a browser sends the flags
    back as the user has them, whether or not the form still shows them as checkboxes."""
    flags = {flag: "on" for flag in ("is_staff", "is_superuser") if getattr(user, flag)}
    fields = flags | {
        "username": user.username, "first_name": "", "last_name": "", "email": "",
        "is_active": "on", "role": user.role,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "",
    }  # fmt: skip
    return fields | changes


def test_demoting_an_admin_in_the_admin_takes_superuser_away(admin_client: Client) -> None:
    boss = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True, username="boss")
    make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)  # boss is not the last admin
    response = admin_client.post(f"{USERS}{boss.pk}/change/", _user_form(boss, role="agent"))
    assert response.status_code == 302, response.content.decode()[:2000]
    boss.refresh_from_db()
    assert (boss.role, boss.is_staff, boss.is_superuser) == ("agent", False, False)
    client = Client()
    client.force_login(boss)
    assert client.get("/admin/").status_code == 302  # sent to the login page


def test_the_admin_refuses_to_demote_or_deactivate_oneself(admin_client: Client) -> None:
    boss = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True, username="boss")
    client = Client()
    client.force_login(boss)
    response = client.post(f"{USERS}{boss.pk}/change/", _user_form(boss, role="analyst"))
    assert response.status_code == 200
    assert "You cannot take the admin role from yourself" in response.content.decode()
    inactive = _user_form(boss)
    del inactive["is_active"]  # an unticked checkbox is not sent
    response = client.post(f"{USERS}{boss.pk}/change/", inactive)
    assert "You cannot deactivate yourself" in response.content.decode()
    boss.refresh_from_db()
    assert (boss.role, boss.is_active, boss.is_superuser) == ("admin", True, True)


def test_the_user_form_cannot_make_an_agent_superuser(admin_client: Client) -> None:
    agent = make_user(role=Role.AGENT, username="ann")
    form = _user_form(agent, is_staff="on", is_superuser="on")
    assert admin_client.post(f"{USERS}{agent.pk}/change/", form).status_code == 302
    agent.refresh_from_db()
    assert (agent.role, agent.is_staff, agent.is_superuser) == ("agent", False, False)


def test_promoting_in_the_admin_grants_the_admin(admin_client: Client) -> None:
    analyst = make_user(role=Role.ANALYST, username="ann")
    form = _user_form(analyst, role="admin")
    assert admin_client.post(f"{USERS}{analyst.pk}/change/", form).status_code == 302
    analyst.refresh_from_db()
    assert (analyst.role, analyst.is_staff, analyst.is_superuser) == ("admin", True, True)


def test_a_user_added_in_the_admin_gets_the_flags_of_the_role(admin_client: Client) -> None:
    response = admin_client.post(f"{USERS}add/", {
        "username": "root", "role": "admin", "usable_password": "true",
        "password1": "a long passphrase", "password2": "a long passphrase",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    root = User.objects.get(username="root")
    assert (root.role, root.is_staff, root.is_superuser) == ("admin", True, True)
    assert root.check_password("a long passphrase")


IDENTITIES = "/admin/customers/identity/"


def test_an_identity_cannot_be_moved_to_another_customer_in_the_admin(
    admin_client: Client,
) -> None:
    owner, other = make_customer(), make_customer()
    identity = make_identity(owner, kind="email", value="ann@example.com")
    page = admin_client.get(f"{IDENTITIES}{identity.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # view only
    moved = admin_client.post(f"{IDENTITIES}{identity.pk}/change/", {
        "customer": other.pk, "kind": "email", "value": "ann@example.com",
    })  # fmt: skip
    assert moved.status_code == 403
    assert Identity.objects.get(pk=identity.pk).customer_id == owner.pk


def test_identities_are_neither_added_nor_deleted_in_the_admin(admin_client: Client) -> None:
    owner, other = make_customer(), make_customer()
    identity = make_identity(owner, kind="email", value="ann@example.com")
    added = admin_client.post(f"{IDENTITIES}add/", {
        "customer": other.pk, "kind": "email", "value": "bob@example.com",
    })  # fmt: skip
    deleted = admin_client.post(f"{IDENTITIES}{identity.pk}/delete/", {"post": "yes"})
    assert (added.status_code, deleted.status_code) == (403, 403)
    assert list(Identity.objects.values_list("value", "customer_id")) == [
        ("ann@example.com", owner.pk)
    ]
