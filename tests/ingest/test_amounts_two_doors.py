"""Amounts with more than two decimals, one rule at both doors (``retain.ingest.amounts``):
a value within 1e-6 of a cent value is float noise and taken as that cent value; any other
third decimal is refused (never rounded), naming the field, the count and an example."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client

from retain.customers.models import Order
from retain.errors import DataError
from retain.ingest.amounts import amount_rule, number_of, to_cents
from retain.ingest.applying import apply_pending_messages
from retain.ingest.import_runs import import_file
from retain.ingest.message_checks import MAX_AMOUNT
from retain.ingest.models import Message
from retain.worker.runner import run_jobs_until_idle
from tests.ingest.builders import basic_auth, make_batch, make_order_completed, make_write_key

pytestmark = pytest.mark.django_db

#: value as sent -> the cent value kept, or the rule that refuses it (the same at both doors)
CASES: dict[str, tuple[Any, str]] = {
    "two decimals": (19.99, "19.99"),
    "whole": (20, "20.00"),
    "float noise above": (19.990000000000002, "19.99"),
    "float noise below": (0.30000000000000004 - 1e-9, "0.30"),
    "noise as text": ("19.9900000001", "19.99"),
    "third decimal": (19.999, "has more than 2 decimal places"),
    "half a cent": ("19.995", "has more than 2 decimal places"),
    "just beyond the noise": ("19.990002", "has more than 2 decimal places"),
    "noise up to the limit": ("999999999999.9999999", "is 1,000,000,000,000 or more"),
    "negative": (-1.5, "is negative"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_rule_on_one_value(name):
    value, expected = CASES[name]
    number = number_of(value)
    assert number is not None
    rule = amount_rule(number, limit=MAX_AMOUNT)
    assert (str(to_cents(number)) if rule is None else rule) == expected


def test_what_is_not_a_finite_number_is_none():
    assert [number_of(v) for v in (None, True, "lots", float("nan"), "Infinity")] == [None] * 5


def post(client: Client, messages: list[dict[str, Any]]):
    headers = {"Authorization": basic_auth(make_write_key())}
    body = json.dumps(make_batch(messages))
    return client.post("/v1/batch", body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("name", list(CASES))
def test_the_tracking_door_applies_the_rule(client, name):
    value, expected = CASES[name]
    message = make_order_completed(messageId=f"m-{name}", total=value)

    response = post(client, [make_order_completed(order_id="o-0", total=5), message])

    if expected[0].isdigit():
        assert response.status_code == 200, response.content
        run_jobs_until_idle()
        assert str(Order.objects.get(external_id="o-1").amount) == expected
        return
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"] == "properties.total" and problem["bad_rows"] == 1
    assert problem["example"]["index"] == 1 and problem["example"]["messageId"] == f"m-{name}"
    assert f"properties.total {expected}" in problem["detail"]
    assert not Message.objects.exists()


def test_the_tracking_door_counts_the_bad_messages_and_shows_the_first(client):
    messages = [
        make_order_completed(messageId="m-0", order_id="o-0", total=1.5),
        make_order_completed(messageId="m-1", order_id="o-1", total=19.999),
        make_order_completed(messageId="m-2", order_id="o-2", total="0.105"),
    ]
    problem = post(client, messages).json()
    assert (problem["field"], problem["bad_rows"]) == ("properties.total", 2)
    assert problem["detail"].startswith(
        "properties.total: properties.total has more than 2 decimal places (19.999); amounts "
        "are kept to the cent, not rounded (2 bad message(s), e.g. message 1 with messageId "
        "'m-1')"
    )


def test_a_stored_message_with_a_third_decimal_fails_with_the_same_reason():
    """Kept by a version that rounded it: applying refuses it too, and the rest go on."""
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    old = make_order_completed(messageId="old", order_id="o-old", total=19.999)
    new = make_order_completed(messageId="new", order_id="o-new", total=19.99)
    for message in (old, new):
        Message.objects.create(
            message_id=message["messageId"], type="track", payload=message, received_at=at,
            timestamp=at,
        )  # fmt: skip
    assert apply_pending_messages().failed == 1
    assert Message.objects.get(message_id="old").error == (
        "DataError: properties.total: properties.total has more than 2 decimal places "
        "(19.999); amounts are kept to the cent, not rounded"
    )
    assert list(Order.objects.values_list("external_id", "amount")) == [("o-new", Decimal("19.99"))]


#: The analytics' own check (shared with ``retain analyze``) refuses these first, in its words.
LIBRARY_WORDS = {
    "is negative": "amount is negative (a refund row?)",
    "is 1,000,000,000,000 or more": "amount is 1,000,000,000,000 or more",
}


def orders_frame(amounts: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"c-{i}" for i in range(len(amounts))],
        "order_id": [f"o-{i}" for i in range(len(amounts))],
        "ordered_at": ["2026-01-05"] * len(amounts),
        "amount": amounts,
    })  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_file_door_applies_the_rule(tmp_path: Path, name, fmt):
    value, expected = CASES[name]
    if fmt == "parquet" and isinstance(value, str):
        value = float(value)  # a Parquet amount column is numbers
    frame = orders_frame([5.0, value])
    path = tmp_path / f"orders.{fmt}"
    if fmt == "csv":
        frame.astype({"amount": str}).to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

    if expected[0].isdigit():
        import_file("orders", path)
        assert str(Order.objects.get(external_id="o-1").amount) == expected
        return
    with pytest.raises(DataError) as refused:
        import_file("orders", path)
    problems = refused.value.details["problems"]
    (amount,) = [p for p in problems if p["column"] == "amount"]
    assert amount["rule"].startswith(LIBRARY_WORDS.get(expected, expected))
    assert amount["bad_rows"] == 1
    assert amount["example"]["order_id"] == "o-1"
    assert amount["example"]["line" if fmt == "csv" else "row"] == (3 if fmt == "csv" else 2)
    assert not Order.objects.exists()


def test_the_file_door_counts_the_bad_rows_and_shows_the_first(tmp_path: Path):
    path = tmp_path / "orders.csv"
    orders_frame(["1.50", "19.999", "0.105", "2.000000001"]).to_csv(path, index=False)
    with pytest.raises(DataError) as refused:
        import_file("orders", path)
    (problem,) = refused.value.details["problems"]
    assert (problem["column"], problem["rule"], problem["bad_rows"]) == (
        "amount", "has more than 2 decimal places", 2)  # fmt: skip
    assert problem["example"] == {"line": 3, "customer_id": "c-1", "order_id": "o-1",
                                  "amount": "19.999"}  # fmt: skip
