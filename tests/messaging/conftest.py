"""Fixtures of the messaging tests: a real SMTP server on loopback, a clock the test moves,
and the options composing needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from retain.messaging.composing import ComposeOptions
from tests.messaging.smtp_server import SmtpTestServer

PUBLIC_URL = "https://retain.shop.example"


class Clock:
    """The time as the sender sees it: starts a minute after the real now (messages queued
    now are due) and moves only when told."""

    def __init__(self) -> None:
        self.now = timezone.now() + dt.timedelta(minutes=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def options() -> ComposeOptions:
    return ComposeOptions(sender="Shop <news@shop.example>", public_url=PUBLIC_URL)
