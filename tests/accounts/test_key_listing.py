"""Listing and revoking API keys, and when a key was last used (kept to the minute)."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.accounts.models import ApiKey
from retain.accounts.services import (
    LAST_USED_PRECISION,
    authenticate_api_key,
    list_api_keys,
    revoke_api_key,
)
from retain.errors import Conflict, NotFound, PermissionDenied
from tests.accounts.builders import make_api_key

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def stored(key: ApiKey) -> ApiKey:
    return ApiKey.objects.get(pk=key.pk)


def test_a_key_records_when_it_was_last_used_to_the_minute() -> None:
    key, plain = make_api_key("read")
    assert stored(key).last_used_at is None
    authenticate_api_key(plain, scope="read", now=NOON)
    assert stored(key).last_used_at == NOON
    authenticate_api_key(plain, scope="read", now=NOON + LAST_USED_PRECISION / 2)
    assert stored(key).last_used_at == NOON  # no write within the minute
    later = NOON + LAST_USED_PRECISION
    authenticate_api_key(plain, scope="read", now=later)
    assert stored(key).last_used_at == later


def test_a_refused_key_is_not_marked_used() -> None:
    key, plain = make_api_key("read")
    with pytest.raises(PermissionDenied):
        authenticate_api_key(plain, scope="track", now=NOON)
    assert stored(key).last_used_at is None


def test_the_list_holds_live_and_revoked_keys_oldest_first() -> None:
    make_api_key("read", name="first")
    make_api_key("track", name="second")
    revoke_api_key("first", now=NOON)
    listed = list_api_keys()
    assert [(key.name, key.revoked_at) for key in listed] == [("first", NOON), ("second", None)]


@pytest.mark.parametrize("how", ["name", "prefix", "plain key"])
def test_a_key_is_revoked_by_its_name_its_prefix_or_its_plain_text(how: str) -> None:
    key, plain = make_api_key("read", name="shop")
    other, other_plain = make_api_key("read", name="other")
    given = {"name": "shop", "prefix": key.prefix, "plain key": plain}[how]
    assert revoke_api_key(given, now=NOON) == key
    assert stored(key).revoked_at == NOON
    with pytest.raises(PermissionDenied, match="invalid or revoked"):
        authenticate_api_key(plain, scope="read")
    assert authenticate_api_key(other_plain, scope="read") == other


def test_revoking_again_keeps_the_first_revocation() -> None:
    key, _ = make_api_key("read", name="shop")
    revoke_api_key("shop", now=NOON)
    again = revoke_api_key("shop", now=NOON + dt.timedelta(days=1))
    assert again == key and again.revoked_at == NOON and stored(key).revoked_at == NOON


def test_a_name_shared_by_two_live_keys_asks_for_the_prefix() -> None:
    one, _ = make_api_key("read", name="shop")
    two, _ = make_api_key("read", name="shop")
    with pytest.raises(Conflict, match="2 live API keys are named 'shop'") as raised:
        revoke_api_key("shop")
    assert one.prefix in str(raised.value) and two.prefix in str(raised.value)
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0


def test_the_live_key_of_a_reused_name_is_the_one_revoked() -> None:
    old, _ = make_api_key("read", name="shop")
    revoke_api_key(old.prefix, now=NOON)
    new, _ = make_api_key("read", name="shop")
    assert revoke_api_key("shop", now=NOON + dt.timedelta(hours=1)) == new
    assert stored(new).revoked_at == NOON + dt.timedelta(hours=1)


def test_an_unknown_key_is_not_found() -> None:
    make_api_key("read", name="shop")
    with pytest.raises(NotFound, match="no API key named 'ghost' or with that prefix"):
        revoke_api_key("ghost")
