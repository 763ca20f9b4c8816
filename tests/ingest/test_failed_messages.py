"""A tracking message that cannot be applied is visible: one warning line with its messageId
and the reason, and the admin's ``status`` filter lists it."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.test import Client

from retain.accounts.models import Role
from retain.ingest.applying import apply_pending_messages
from retain.ingest.models import Message
from retain.ingest.services import accept_calls
from tests.accounts.builders import make_user
from tests.ingest.builders import make_order_completed, make_track

pytestmark = pytest.mark.django_db


def store(*messages: dict) -> None:
    """Received long ago: a refund of an unknown order is past the time it may wait."""
    accept_calls(
        {"batch": list(messages)}, kind=None, source=None,
        received_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
    )  # fmt: skip


def test_a_message_that_fails_is_logged_once_with_its_id_and_the_reason_then_counted(
    caplog,
) -> None:
    store(
        make_order_completed(messageId="m-good", order_id="o-1"),
        make_track(messageId="m-refund", event="Order Refunded",
                   properties={"order_id": "o-missing"}),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="retain.ingest.applying"):
        apply_pending_messages()
    lines = [r for r in caplog.records if r.name == "retain.ingest.applying"]
    assert [(r.levelno, r.getMessage()) for r in lines] == [
        (logging.WARNING, "tracking message m-refund not applied: NotFound: no order "
                          "'o-missing' arrived within 7 days"),
        (logging.WARNING, "1 of 2 tracking messages failed"),
    ]  # fmt: skip
    assert Message.objects.get(message_id="m-good").applied_at is not None


def test_applied_messages_log_nothing(caplog) -> None:
    store(make_order_completed(messageId="m-good"))
    with caplog.at_level(logging.WARNING, logger="retain.ingest.applying"):
        assert apply_pending_messages().claimed == 1
    assert [r for r in caplog.records if r.name == "retain.ingest.applying"] == []


@pytest.mark.parametrize(
    ("status", "listed"),
    [("failed", ["m-refund"]), ("applied", ["m-good"]), ("pending", ["m-later"]),
     (None, ["m-good", "m-later", "m-refund"])],
)  # fmt: skip
def test_the_admin_filters_messages_by_status(status: str | None, listed: list[str]) -> None:
    store(
        make_order_completed(messageId="m-good", order_id="o-1"),
        make_track(messageId="m-refund", event="Order Refunded",
                   properties={"order_id": "o-missing"}),
    )  # fmt: skip
    apply_pending_messages()
    store(make_track(messageId="m-later"))
    client = Client()
    client.force_login(make_user(role=Role.ADMIN, is_staff=True, is_superuser=True))
    query = {"status": status} if status else {}
    response = client.get("/admin/ingest/message/", query)
    assert response.status_code == 200
    shown = sorted(message.message_id for message in response.context["cl"].result_list)
    assert shown == listed
    if status == "failed":
        assert "no order &#x27;o-missing&#x27; arrived within 7 days" in response.content.decode()
