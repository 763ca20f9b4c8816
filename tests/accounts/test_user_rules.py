"""Who may change whom: an admin cannot demote or deactivate themself, and the last active
admin stays one, whichever door asks."""

from __future__ import annotations

import pytest

from retain.accounts.models import ApiKey, Role, User
from retain.accounts.services import (
    change_role,
    create_api_key,
    get_api_key,
    get_user,
    key_state,
    list_users,
    revoke_api_key,
    set_active,
)
from retain.errors import NotFound, RuleViolation
from tests.accounts.builders import make_user

pytestmark = pytest.mark.django_db


def _admin(**overrides) -> User:
    return make_user(role=Role.ADMIN, is_staff=True, is_superuser=True, **overrides)


def test_an_admin_promotes_and_demotes_another_and_the_django_flags_follow() -> None:
    root, ann = _admin(), make_user(role=Role.ANALYST)
    change_role(ann, Role.ADMIN, by=root)
    ann.refresh_from_db()
    assert (ann.role, ann.is_staff, ann.is_superuser) == ("admin", True, True)
    change_role(ann, Role.AGENT, by=root)
    ann.refresh_from_db()
    assert (ann.role, ann.is_staff, ann.is_superuser) == ("agent", False, False)


def test_an_admin_cannot_demote_themself_even_with_other_admins() -> None:
    root, _ = _admin(), _admin()
    with pytest.raises(RuleViolation, match="cannot take the admin role from yourself") as error:
        change_role(root, Role.ANALYST, by=root)
    assert error.value.details["rule"] == "self"
    root.refresh_from_db()
    assert (root.role, root.is_superuser) == ("admin", True)


def test_an_admin_cannot_deactivate_themself() -> None:
    root, _ = _admin(), _admin()
    with pytest.raises(RuleViolation, match="cannot deactivate yourself"):
        set_active(root, False, by=root)
    assert User.objects.get(pk=root.pk).is_active


def test_the_last_active_admin_cannot_be_demoted_or_deactivated() -> None:
    root = _admin()
    _admin(is_active=False)  # an inactive admin does not count
    other = make_user(role=Role.ANALYST)  # e.g. the CLI acting for someone no longer admin
    with pytest.raises(RuleViolation, match="last active admin") as error:
        change_role(root, Role.AGENT, by=other)
    assert error.value.details["rule"] == "last_admin"
    with pytest.raises(RuleViolation, match="last active admin"):
        set_active(root, False, by=other)
    root.refresh_from_db()
    assert (root.role, root.is_active) == ("admin", True)


def test_with_two_active_admins_one_may_go() -> None:
    root, second = _admin(), _admin()
    set_active(second, False, by=root)
    assert not User.objects.get(pk=second.pk).is_active
    set_active(second, True, by=root)
    change_role(second, Role.ANALYST, by=root)
    assert User.objects.get(pk=second.pk).role == "analyst"


def test_an_unknown_role_is_refused() -> None:
    root, ann = _admin(), make_user()
    with pytest.raises(RuleViolation, match="role must be one of"):
        change_role(ann, "owner", by=root)


def test_users_are_listed_active_first_then_by_name_and_found_by_id() -> None:
    make_user(username="zoe")
    make_user(username="bob", is_active=False)
    make_user(username="ann")
    assert [user.username for user in list_users()] == ["ann", "zoe", "bob"]
    assert get_user(User.objects.get(username="zoe").pk).username == "zoe"
    with pytest.raises(NotFound):
        get_user(10**9)


def test_a_key_is_found_by_its_prefix_and_says_whether_it_is_live() -> None:
    key, _ = create_api_key("shop", scopes=["read"])
    assert get_api_key(key.prefix) == key
    assert key_state(key) == "live"
    key.expires_at = key.created_at
    assert key_state(key) == "expired"
    revoke_api_key(key.prefix)
    assert key_state(ApiKey.objects.get(pk=key.pk)) == "revoked"
    with pytest.raises(NotFound):
        get_api_key("shop")  # a name is not a prefix
