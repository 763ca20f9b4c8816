"""API keys: shown once, stored as a hash, checked for scope, revocable."""

from __future__ import annotations

import pytest

from retain.accounts.models import ApiKey, Role
from retain.accounts.services import authenticate_api_key, create_api_key, revoke_api_key
from retain.errors import PermissionDenied, RuleViolation
from tests.accounts.builders import make_api_key, make_user

pytestmark = pytest.mark.django_db


def test_a_new_key_is_stored_only_as_a_hash() -> None:
    key, plain = create_api_key("shop", scopes=["track", "read"])
    stored = ApiKey.objects.get(pk=key.pk)
    assert plain.startswith("rk_") and plain.split("_", 2)[2] not in stored.secret_hash
    assert stored.scopes == ["read", "track"]
    assert authenticate_api_key(plain, scope="track") == key


def test_a_key_without_the_scope_is_refused() -> None:
    _, plain = make_api_key("read")
    with pytest.raises(PermissionDenied, match="lacks the 'track' scope"):
        authenticate_api_key(plain, scope="track")


@pytest.mark.parametrize("plain", ["", "nonsense", "rk_abc_def", "rk_" + "0" * 12 + "_secret"])
def test_an_unknown_or_malformed_key_is_refused(plain: str) -> None:
    make_api_key("read")
    with pytest.raises(PermissionDenied, match="invalid or revoked"):
        authenticate_api_key(plain, scope="read")


def test_a_right_prefix_with_a_wrong_secret_is_refused() -> None:
    _, plain = make_api_key("read")
    assert authenticate_api_key(plain, scope="read") is not None
    with pytest.raises(PermissionDenied, match="invalid or revoked API key"):
        authenticate_api_key(plain[:-2] + "xx", scope="read")


def test_a_revoked_key_is_refused() -> None:
    key, plain = make_api_key("read")
    revoke_api_key(key.prefix)
    with pytest.raises(PermissionDenied, match="invalid or revoked API key"):
        authenticate_api_key(plain, scope="read")


def test_unknown_scopes_are_a_rule_violation() -> None:
    with pytest.raises(RuleViolation, match="scopes must be some of"):
        create_api_key("shop", scopes=["track", "delete-everything"])


def test_an_admin_user_may_use_the_django_admin_and_an_agent_may_not() -> None:
    from retain.accounts.services import create_user

    admin = create_user("root", password="a long passphrase", role="admin")
    agent = create_user("ann", password="a long passphrase", role="agent")
    assert admin.is_staff and admin.is_superuser and admin.scopes >= {"read", "import"}
    assert not agent.is_staff and agent.scopes == {"read"}
    with pytest.raises(RuleViolation, match="role must be one of"):
        create_user("bob", password="a long passphrase", role="owner")


@pytest.mark.parametrize(
    ("role", "flags"),
    [("admin", (True, True)), ("analyst", (False, False)), ("agent", (False, False))],
)
def test_a_role_sets_the_django_flags_of_a_user(role: str, flags: tuple[bool, bool]) -> None:
    from retain.accounts.services import set_role

    admin = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)
    agent = make_user(role=Role.AGENT)
    for user in (admin, agent):
        set_role(user, role).save()
        user.refresh_from_db()
        assert (user.role, user.is_staff, user.is_superuser) == (role, *flags)


def test_an_unknown_role_changes_nothing() -> None:
    from retain.accounts.services import set_role

    admin = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)
    with pytest.raises(RuleViolation, match="role must be one of admin, analyst, agent"):
        set_role(admin, "owner")
    assert (admin.role, admin.is_staff, admin.is_superuser) == ("admin", True, True)
