"""API keys that expire: refused from their ``expires_at`` on, with the day they expired, and
made from the CLI with ``--expires-in DAYS``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from retain.accounts.models import ApiKey
from retain.accounts.services import authenticate_api_key, create_api_key
from retain.cli import main
from retain.errors import PermissionDenied, RuleViolation

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_a_key_works_until_it_expires_and_is_refused_from_then_on() -> None:
    key, plain = create_api_key("shop", scopes=["read"], expires_at=NOON + DAY, now=NOON)
    assert authenticate_api_key(plain, scope="read", now=NOON + DAY / 2) == key
    for moment in (NOON + DAY, NOON + 2 * DAY):
        with pytest.raises(PermissionDenied) as refused:
            authenticate_api_key(plain, scope="read", now=moment)
        assert str(refused.value) == (
            f"API key 'shop' (prefix {key.prefix}) expired on 2026-03-02 12:00 UTC"
        )


def test_an_expired_key_is_not_marked_used() -> None:
    key, plain = create_api_key("shop", scopes=["read"], expires_at=NOON + DAY, now=NOON)
    with pytest.raises(PermissionDenied, match="expired on 2026-03-02 12:00 UTC"):
        authenticate_api_key(plain, scope="read", now=NOON + 2 * DAY)
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None


def test_a_key_cannot_be_born_expired() -> None:
    with pytest.raises(RuleViolation, match="a key cannot expire in the past: 2026-03-01 12:00"):
        create_api_key("shop", scopes=["read"], expires_at=NOON, now=NOON)
    assert not ApiKey.objects.exists()


def test_an_expired_key_is_a_401_problem_saying_when_it_expired() -> None:
    expired = dt.datetime(2025, 6, 30, 8, 15, tzinfo=dt.UTC)
    key, plain = create_api_key("shop", scopes=["read"], expires_at=expired, now=expired - DAY)
    response = Client().get("/api/v1/customers", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "permission_denied"
    assert body["detail"] == (
        f"API key 'shop' (prefix {key.prefix}) expired on 2025-06-30 08:15 UTC"
    )


def test_keys_create_expires_in_days(capsys: pytest.CaptureFixture[str]) -> None:
    before = timezone.now()
    assert main(["keys", "create", "shop", "--scopes", "read", "--expires-in", "30"]) == 0
    after = timezone.now()
    out = capsys.readouterr().out.splitlines()
    key = ApiKey.objects.get(name="shop")
    assert before + 30 * DAY <= key.expires_at <= after + 30 * DAY
    expiry = key.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert out[0] == f"API key 'shop' with scopes read (expires on {expiry}); keep it safe:"
    assert authenticate_api_key(out[-1], scope="read") == key
    with pytest.raises(PermissionDenied, match=f"expired on {expiry}"):
        authenticate_api_key(out[-1], scope="read", now=key.expires_at)


def test_keys_create_without_expiry_says_the_key_never_expires(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["keys", "create", "shop", "--scopes", "track,read"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "API key 'shop' with scopes read, track (never expires); keep it safe:"
    )
    assert ApiKey.objects.get(name="shop").expires_at is None


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_keys_create_refuses_a_lifetime_that_is_not_whole_days(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["keys", "create", "shop", "--scopes", "read", "--expires-in", days])
    assert stopped.value.code == 2
    assert f"argument --expires-in: {days!r} is not a number of days (1 or more)" in (
        capsys.readouterr().err
    )
    assert not ApiKey.objects.exists()


def test_keys_list_shows_each_keys_expiry(capsys: pytest.CaptureFixture[str]) -> None:
    create_api_key("temporary", scopes=["read"], expires_at=NOON + DAY, now=NOON)
    create_api_key("lasting", scopes=["read"])
    assert main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["name", "prefix", "scopes", "created", "expires"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert re.search(r"UTC  2026-03-02 12:00 UTC  never +-$", rows["temporary"]), rows
    assert re.search(r"UTC  never +never +-$", rows["lasting"]), rows
