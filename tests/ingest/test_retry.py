"""A failed message is counted on ``/healthz`` and applied again after a fix with
``retain ingest retry``; the admin lists it with its reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from retain.accounts.models import Role
from retain.cli import main
from retain.customers.models import Order
from retain.ingest.applying import apply_pending_messages, retry_failed_messages
from retain.ingest.models import Message
from retain.ingest.services import accept_calls
from tests.accounts.builders import make_user
from tests.ingest.builders import make_order_completed, make_track

pytestmark = pytest.mark.django_db
RECEIVED = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def store(*messages: dict) -> None:
    accept_calls({"batch": list(messages)}, kind=None, source=None, received_at=RECEIVED)


def refund(message_id: str, order_id: str) -> dict:
    return make_track(messageId=message_id, event="Order Refunded",
                      properties={"order_id": order_id})  # fmt: skip


def early_refunds() -> None:
    """Two refunds applied before their orders arrived, then the orders; received long
    before they are applied (RECEIVED), past the time a refund waits, so both fail."""
    store(refund("m-refund-1", "o-1"), refund("m-refund-2", "o-2"))
    apply_pending_messages()
    store(make_order_completed(messageId="m-order-1", order_id="o-1"),
          make_order_completed(messageId="m-order-2", order_id="o-2"))  # fmt: skip
    apply_pending_messages()


def test_healthz_counts_the_failed_messages(client: Client) -> None:
    assert client.get("/healthz").json()["failed_messages"] == 0
    early_refunds()
    assert client.get("/healthz").json()["failed_messages"] == 2


def test_retain_ingest_retry_applies_the_named_failed_message_again(capsys, client) -> None:
    early_refunds()
    assert main(["ingest", "retry", "m-refund-1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1 failed message(s) retried: 1 applied, 0 failed again; 1 failed in all"
    ]
    assert Order.objects.get(external_id="o-1").status == "refunded"
    assert Order.objects.get(external_id="o-2").status == "completed"  # not named: waits
    retried = Message.objects.get(message_id="m-refund-1")
    assert retried.error == "" and retried.applied_at is not None
    assert client.get("/healthz").json()["failed_messages"] == 1


def test_retain_ingest_retry_all_applies_every_failed_message(capsys) -> None:
    early_refunds()
    store(refund("m-refund-3", "o-never"))
    apply_pending_messages()
    assert main(["ingest", "retry", "--all"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "3 failed message(s) retried: 2 applied, 1 failed again; 1 failed in all"
    ]
    assert set(Order.objects.values_list("status", flat=True)) == {"refunded"}
    assert Message.objects.get(message_id="m-refund-3").error == (
        "NotFound: no order 'o-never' arrived within 7 days"
    )


def test_retry_refuses_unknown_and_unfailed_ids_and_retries_nothing(capsys) -> None:
    early_refunds()
    assert main(["ingest", "retry", "m-refund-1", "m-nope"]) == 2
    assert "no tracking message 'm-nope'" in capsys.readouterr().err
    assert main(["ingest", "retry", "m-refund-1", "m-order-1"]) == 2
    assert "1 message(s) did not fail, e.g. 'm-order-1'" in capsys.readouterr().err
    assert main(["ingest", "retry"]) == 2
    assert "or --all" in capsys.readouterr().err
    assert Message.objects.exclude(error="").count() == 2  # nothing was retried


def test_retry_then_the_queue_never_claims_a_retried_message_twice() -> None:
    early_refunds()
    result = retry_failed_messages(["m-refund-2"])
    assert (result.claimed, result.applied, result.failed) == (1, 1, 0)
    assert apply_pending_messages().claimed == 0


def test_the_admin_applies_selected_failed_messages_again() -> None:
    early_refunds()
    client = Client()
    client.force_login(make_user(role=Role.ADMIN, is_staff=True, is_superuser=True))
    selected = Message.objects.filter(message_id__in=["m-refund-1", "m-order-2"])
    response = client.post(
        "/admin/ingest/message/",
        {"action": "retry", "_selected_action": [str(m.pk) for m in selected]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["1 failed message(s) retried: 1 applied, 0 failed again"]
    assert Order.objects.get(external_id="o-1").status == "refunded"
    assert list(Message.objects.exclude(error="").values_list("message_id", flat=True)) == [
        "m-refund-2"
    ]
