"""Too many wrong passwords for an account or from an address lock the API's and the admin's
sign-in for a while (429 with Retry-After, even with the right password); each failure is
logged with the username and the address. The clock is injected; nothing sleeps."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.test import Client

from retain.accounts.models import LoginFailure, Role
from retain.accounts.throttle import LoginThrottle, Throttled, login_throttle
from tests.accounts.builders import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def fast_hashing(settings) -> None:
    """Dozens of sign-ins per test: a quick hasher keeps them fast (the throttle is the same)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(login_throttle, "clock", fake)  # the throttle's injection point
    return fake


def api_login(username: str, password: str, *, address: str = "203.0.113.7", **headers):
    return Client(REMOTE_ADDR=address).post(
        "/api/v1/auth/login", {"username": username, "password": password},
        content_type="application/json", headers=headers,
    )  # fmt: skip


def admin_login(username: str, password: str, *, address: str = "203.0.113.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}
    )
    return client, response


def fail_ten_times(clock: FakeClock, username: str, *, address: str = "203.0.113.7") -> None:
    for _ in range(10):
        assert api_login(username, "wrong guess", address=address).status_code == 401
        clock.advance(1)


def test_the_right_password_is_refused_after_ten_failures_until_the_window_passes(clock):
    user = make_user(role=Role.ADMIN)
    fail_ten_times(clock, user.username)  # 10 failures at 09:00:00 .. 09:00:09; now 09:00:10

    refused = api_login(user.username, PASSWORD)

    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    # the oldest failure (09:00:00) leaves the 15-minute window at 09:15:00
    assert refused["Retry-After"] == str(15 * 60 - 10)
    body = refused.json()
    assert (body["status"], body["code"], body["retry_after"]) == (429, "too_many_attempts", 890)
    assert "try again in 890 s" in body["detail"]

    clock.advance(889)
    assert api_login(user.username, PASSWORD)["Retry-After"] == "1"
    clock.advance(1)
    signed_in = api_login(user.username, PASSWORD)
    assert signed_in.status_code == 200 and signed_in.json()["username"] == user.username


def test_nine_failures_do_not_lock_and_a_success_clears_them(clock):
    user = make_user()
    for _ in range(9):
        api_login(user.username, "wrong guess")
    assert api_login(user.username, PASSWORD).status_code == 200
    assert not LoginFailure.objects.filter(username=user.username).exists()
    for _ in range(9):
        api_login(user.username, "wrong guess")
    assert api_login(user.username, PASSWORD).status_code == 200


def test_an_account_is_locked_whatever_the_address(clock):
    user = make_user()
    for n in range(10):
        api_login(user.username, "wrong guess", address=f"198.51.100.{n}")

    refused = api_login(user.username, PASSWORD, address="192.0.2.200")

    assert refused.status_code == 429 and refused["Retry-After"] == "900"


def test_an_address_is_locked_whatever_the_account(clock):
    user = make_user()
    for n in range(10):
        api_login(f"guess{n}", "wrong guess", address="198.51.100.9")

    assert api_login(user.username, PASSWORD, address="198.51.100.9").status_code == 429
    assert api_login(user.username, PASSWORD, address="198.51.100.10").status_code == 200


def test_each_failure_is_logged_with_the_username_and_the_address(clock, caplog):
    caplog.set_level(logging.WARNING, logger="retain.accounts.login")
    api_login("mallory", "wrong guess", address="198.51.100.23")

    [record] = [each for each in caplog.records if each.name == "retain.accounts.login"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "failed sign-in for username 'mallory' from 198.51.100.23 "
        "(1 for this account within 15 minutes)"
    )


def test_the_admin_login_is_throttled_too(clock):
    user = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)
    for _ in range(10):
        _, response = admin_login(user.username, "wrong guess")
        assert response.status_code == 200  # the form again, with its error
        clock.advance(1)

    client, refused = admin_login(user.username, PASSWORD)

    assert refused.status_code == 429 and refused["Retry-After"] == "890"
    assert b"Too many failed sign-ins" in refused.content
    assert "_auth_user_id" not in client.session
    clock.advance(890)
    client, signed_in = admin_login(user.username, PASSWORD)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_failures_at_one_door_lock_the_other(clock):
    user = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)
    for _ in range(10):
        admin_login(user.username, "wrong guess")
    assert api_login(user.username, PASSWORD).status_code == 429


def test_another_process_sees_the_lock_through_the_database(clock):
    """A second throttle (as another server process has) counts the same rows."""
    fail_ten_times(clock, "ann")
    other = LoginThrottle(clock=lambda: START + dt.timedelta(seconds=10))
    with pytest.raises(Throttled) as caught:
        other.check("ann", "192.0.2.1")
    assert caught.value.retry_after == 890


def test_forwarded_for_counts_only_from_a_trusted_proxy(clock, settings):
    settings.RETAIN_TRUSTED_PROXIES = "10.0.0.0/8"
    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.50"}
    api_login("ann", "wrong guess", address="10.1.2.3", **headers)
    api_login("bob", "wrong guess", address="192.0.2.9", **headers)

    addresses = list(LoginFailure.objects.order_by("id").values_list("username", "address"))
    assert addresses == [("ann", "203.0.113.50"), ("bob", "192.0.2.9")]
