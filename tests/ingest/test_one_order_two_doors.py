"""One rule for an order stated by a file and by tracking (docs/store.md, "One order, two
doors"): a file states an order's fields, a tracked ``Order Completed`` only creates an order
no one stated yet, a refund is never undone by stating the order again, and an order id
given for another customer is refused at both doors. The outcome does not depend on which
door came first."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.test import Client

from retain.customers import bulk
from retain.customers.models import Order
from retain.errors import DataError
from retain.ingest.import_runs import import_file
from retain.ingest.models import Message
from retain.worker.runner import run_jobs_until_idle
from tests.ingest.builders import basic_auth, make_order_completed, make_track, make_write_key

pytestmark = pytest.mark.django_db

ROW = {"customer_id": "c-1", "order_id": "o-1", "ordered_at": "2026-01-05T10:00:00",
       "amount": "10.00", "currency": "EUR", "channel": "store"}  # fmt: skip


def track(client: Client, *messages: dict[str, Any]) -> None:
    """Send ``messages`` through the tracking door and apply them."""
    body = json.dumps({"batch": list(messages)})
    headers = {"Authorization": basic_auth(make_write_key())}
    response = client.post("/v1/batch", body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    run_jobs_until_idle()


def send_file(tmp_path: Path, *rows: dict[str, Any], name: str = "orders"):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(list(rows)).to_csv(path, index=False)
    return import_file("orders", path)


def completed(**overrides: Any) -> dict[str, Any]:
    properties = {"order_id": "o-1", "total": 12.5, "currency": "usd", "channel": "web"}
    return make_order_completed(**({"userId": "c-1", "properties": properties} | overrides))


def refunded() -> dict[str, Any]:
    return make_track(userId="c-1", event="Order Refunded", properties={"order_id": "o-1"})


def stored() -> tuple:
    order = Order.objects.select_related("customer").get(external_id="o-1")
    return (order.customer.external_id, order.amount, order.ordered_at, order.currency,
            order.channel, order.status)  # fmt: skip


FILE_STATED = ("c-1", Decimal("10.00"), dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC), "EUR",
               "store", "completed")  # fmt: skip


@pytest.mark.parametrize("first", ["file", "tracking"])
def test_the_file_states_the_order_whichever_door_came_first(client, tmp_path, caplog, first):
    if first == "file":
        send_file(tmp_path, ROW)
        with caplog.at_level(logging.WARNING, logger="retain.customers.services"):
            track(client, completed())
    else:
        track(client, completed())
        result = send_file(tmp_path, ROW)
        assert (result.created, result.updated) == (0, 1)

    assert stored() == FILE_STATED
    assert not Message.objects.exclude(error="").exists()
    if first == "file":  # the tracked amount is not taken, and the log says so
        assert "order 'o-1' is stored with amount 10.00 EUR" in caplog.text
        assert "states 12.50 USD: the stored order is kept" in caplog.text


def test_a_tracked_order_fills_in_until_a_file_states_it_and_the_first_event_stays(client, caplog):
    track(client, completed())
    with caplog.at_level(logging.WARNING, logger="retain.customers.services"):
        track(client, completed(properties={"order_id": "o-1", "total": 99, "currency": "usd"}))
    assert stored()[1:4] == (Decimal("12.50"), dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "USD")
    assert "states 99.00 USD" in caplog.text


def test_the_same_statement_again_says_nothing(client, tmp_path, caplog):
    send_file(tmp_path, ROW | {"amount": "12.50", "currency": "USD"})
    with caplog.at_level(logging.WARNING, logger="retain.customers.services"):
        track(client, completed())
    assert "is stored with amount" not in caplog.text


@pytest.mark.parametrize("status_cell", ["completed", "", "cancelled"])
def test_a_re_import_does_not_undo_a_tracked_refund(client, tmp_path, status_cell):
    send_file(tmp_path, ROW | {"status": "completed"})
    track(client, refunded())
    assert stored()[-1] == "refunded"

    again = send_file(tmp_path, ROW | {"status": status_cell})

    assert stored() == (*FILE_STATED[:-1], "refunded")
    assert (again.created, again.updated, again.unchanged, again.refunds_kept) == (0, 0, 1, 1)


def test_a_refund_stays_while_the_file_corrects_the_other_fields(client, tmp_path):
    track(client, completed(), refunded())

    result = send_file(tmp_path, ROW | {"status": "completed"})

    assert stored() == (*FILE_STATED[:-1], "refunded")
    assert (result.updated, result.refunds_kept) == (1, 1)


def test_a_file_without_a_status_column_leaves_the_refund(client, tmp_path):
    track(client, completed(), refunded())
    result = send_file(tmp_path, ROW)
    assert stored()[-1] == "refunded" and result.refunds_kept == 0


def test_a_file_may_refund_and_tracking_does_not_undo_it(client, tmp_path):
    track(client, completed())
    send_file(tmp_path, ROW | {"status": "Refunded"})
    assert stored()[-1] == "refunded"

    track(client, completed())  # stated again, new messageId
    assert stored()[-1] == "refunded"
    assert not Message.objects.exclude(error="").exists()


def test_the_upsert_itself_keeps_a_refund_committed_after_the_file_was_compared():
    """The statement, not only the comparison before it, keeps the refund: a refund that
    commits between the import's read and its write (another transaction) stays."""
    send_rows = [{"customer": "c-1", "external_id": "o-1", "status": "completed",
                  "ordered_at": FILE_STATED[2], "amount": Decimal("10.00")}]  # fmt: skip
    bulk.upsert_orders(send_rows, fields=("customer", "external_id", "status", "ordered_at",
                                          "amount"))  # fmt: skip
    Order.objects.filter(external_id="o-1").update(status="refunded")
    row = dict(send_rows[0], customer_id=Order.objects.get().customer_id, amount=Decimal(11))
    del row["customer"]

    bulk._write(bulk._ORDERS, [row], update=("status", "amount"))  # as a stale comparison would

    order = Order.objects.get()
    assert (order.status, order.amount) == ("refunded", Decimal("11.00"))


def test_an_order_given_for_another_customer_is_refused_at_the_file_door(client, tmp_path):
    track(client, completed())
    other = ROW | {"customer_id": "c-2"}

    with pytest.raises(DataError) as refused:
        send_file(tmp_path, ROW | {"order_id": "o-0"}, other)

    error = refused.value
    assert error.details["status"] == 409
    assert error.details["moves"] == [
        {"key": "o-1", "stored_customer": "c-1", "given_customer": "c-2", "line": 3}
    ]
    assert 'line 3: "o-1" is stored under customer "c-1", the file gives "c-2"' in str(error)
    assert stored()[0] == "c-1" and not Order.objects.filter(external_id="o-0").exists()


def test_an_order_given_for_another_customer_is_a_failed_message_at_the_tracking_door(
    client, tmp_path
):
    send_file(tmp_path, ROW)

    track(client, completed(userId="c-2", messageId="m-other"))

    message = Message.objects.get(message_id="m-other")
    assert message.applied_at is None
    assert message.error == "Conflict: order 'o-1' belongs to customer 'c-1', not 'c-2'"
    assert stored() == FILE_STATED
