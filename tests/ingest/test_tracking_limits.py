"""The door refuses what a later step cannot store or use (the store's lengths and ranges,
NaN, bad strings, deep nesting), naming the field and the message's index; what it accepts at
the limits is applied on both engines (PostgreSQL enforces the lengths, SQLite does not)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from retain.customers.models import Customer, Order
from retain.ingest.message_checks import MAX_DEPTH
from retain.ingest.models import Message
from retain.worker.runner import run_jobs_until_idle
from tests.accounts.builders import make_api_key
from tests.ingest.builders import (
    basic_auth,
    make_batch,
    make_identify,
    make_order_completed,
    make_track,
    make_write_key,
)

pytestmark = pytest.mark.django_db


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


POISON = {
    "long userId": (make_track(userId="u" * 201), "userId", "longer than 200 characters"),
    "long anonymousId": (
        make_track(userId=None, anonymousId="a" * 201),
        "anonymousId",
        "longer than 200",
    ),
    "long order id": (
        make_order_completed(order_id="o" * 201),
        "properties.order_id",
        "longer than 200",
    ),
    "year 10000 in UTC": (
        make_track(timestamp="9999-12-31T23:00:00-05:00"),
        "timestamp",
        "outside years 1-9999",
    ),
    "year 0 in UTC": (
        make_track(timestamp="0001-01-01T01:00:00+05:00"),
        "timestamp",
        "outside years 1-9999",
    ),
    "createdAt year 10000": (
        make_identify(traits={"createdAt": "9999-12-31T23:30:00-01:00"}),
        "traits.createdAt",
        "outside years 1-9999",
    ),
    "negative total": (make_order_completed(total=-5), "properties.total", "is negative"),
    "oversized total": (
        make_order_completed(total=10**12),
        "properties.total",
        "1,000,000,000,000 or more",
    ),
    "total rounding up to 10^12": (
        make_order_completed(total="999999999999.9999999"),  # float noise over 999999999999.99
        "properties.total",
        "1,000,000,000,000 or more",
    ),
    "oversized revenue": (
        make_order_completed(properties={"order_id": "o-9", "revenue": "123456789012345.67"}),
        "properties.revenue",
        "1,000,000,000,000 or more",
    ),
    "total as text": (make_order_completed(total="lots"), "properties.total", "not a number"),
    "order without total": (
        make_order_completed(properties={"order_id": "o-9"}),
        "properties.total",
        "needs",
    ),
    "NaN": (make_track(properties={"price": float("nan")}), "properties.price", "must be finite"),
    "Infinity": (make_order_completed(total=float("inf")), "properties.total", "must be finite"),
    "NUL byte": (make_track(properties={"note": "a\x00b"}), "properties.note", "NUL"),
    "NUL byte in a key": (make_track(properties={"a\x00": 1}), "properties", "NUL"),
    "lone surrogate": (make_track(event="Viewed \ud800"), "event", "lone surrogate"),
    "too deep": (
        # the message is level 1, properties level 2: the object at level MAX_DEPTH + 1
        make_track(properties=nested(MAX_DEPTH + 5)),
        "properties" + ".a" * (MAX_DEPTH - 1),
        f"nested deeper than {MAX_DEPTH} levels",
    ),
}


def post_batch(client: Client, messages: list[dict[str, Any]]):
    # allow_nan: Python's json writes NaN/Infinity as a careless client's encoder does.
    body = json.dumps(make_batch(messages), allow_nan=True)
    headers = {"Authorization": basic_auth(make_write_key())}
    return client.post("/v1/batch", body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("name", list(POISON))
def test_the_door_refuses_what_the_store_cannot_keep_naming_field_and_index(
    client: Client, name: str
) -> None:
    poison, field, words = POISON[name]
    response = post_batch(client, [make_track(), poison])
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field
    assert words in problem["detail"]
    assert problem["example"]["index"] == 1
    assert problem["example"]["messageId"] == poison["messageId"]
    assert problem["errors"] == [
        {"field": field, "index": 1, "messageId": poison["messageId"],
         "problem": problem["example"]["problem"]}
    ]  # fmt: skip
    assert not Message.objects.exists()  # nothing of the call was stored


def test_a_body_nested_beyond_what_the_parser_takes_is_refused_as_a_body(client: Client) -> None:
    body = '{"batch": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    headers = {"Authorization": basic_auth(make_write_key())}
    response = client.post("/v1/batch", body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json()["field"] == "(body)"
    assert response.json()["detail"] == "the body is nested too deeply"


def test_values_at_the_limits_are_accepted_and_applied(client: Client) -> None:
    user_id, order_id = "u" * 200, "o" * 200
    messages = [
        make_identify(userId=user_id, anonymousId="a" * 200,
                      traits={"createdAt": "9999-12-31T22:00:00-01:00"}),
        make_order_completed(userId=user_id, order_id=order_id, total="999999999999.99"),
        make_track(userId=user_id, timestamp="0001-01-01T00:00:00+00:00",
                   properties={"deep": nested(MAX_DEPTH - 2)}),
    ]  # fmt: skip
    response = post_batch(client, messages)
    assert response.status_code == 200, response.content
    run_jobs_until_idle()
    assert list(Message.objects.exclude(error="").values_list("error", flat=True)) == []
    assert Customer.objects.get(external_id=user_id).signed_up_at.year == 9999
    assert str(Order.objects.get(external_id=order_id).amount) == "999999999999.99"
    # What the door accepts can be read back: the 360 and every search page listing it.
    _, read_key = make_api_key("read", name="reader")
    reader = Client(headers={"Authorization": f"Bearer {read_key}"})
    shown = reader.get(f"/api/v1/customers/{user_id}")
    assert shown.status_code == 200, shown.content
    assert [order["amount"] for order in shown.json()["orders"]] == ["999999999999.99"]
    listed = reader.get("/api/v1/customers", {"q": "uuu"})
    assert listed.status_code == 200, listed.content
    assert [hit["customer_id"] for hit in listed.json()["items"]] == [user_id]


def test_a_time_offset_beyond_what_postgresql_takes_is_stored_and_applied_in_utc(
    client: Client,
) -> None:
    """ISO 8601 allows offsets up to 24 hours; PostgreSQL refuses beyond +-15:59 (found by
    schemathesis as a 500). The door keeps the instant, in UTC."""
    messages = [
        make_identify(userId="far-east", timestamp="2024-11-23T09:35:18+18:55",
                      traits={"createdAt": "2024-11-01T00:00:00+18:55"}),
        make_track(userId="far-east", timestamp="2024-11-23T09:35:18+18:55"),
    ]  # fmt: skip
    response = post_batch(client, messages)
    assert response.status_code == 200, response.content
    run_jobs_until_idle()
    assert list(Message.objects.exclude(error="").values_list("error", flat=True)) == []
    customer = Customer.objects.get(external_id="far-east")
    assert customer.signed_up_at.isoformat() == "2024-10-31T05:05:00+00:00"
    # The call's time, as the instant it names (the door's clock-skew correction aside).
    for message in Message.objects.all():
        skew = message.timestamp - dt.datetime(2024, 11, 22, 14, 40, 18, tzinfo=dt.UTC)
        assert abs(skew) < dt.timedelta(seconds=5)


@pytest.mark.parametrize(
    ("overrides", "field", "detail"),
    [
        ({"userId": 42}, "userId", "userId must be a string, not a number"),
        ({"userId": None, "anonymousId": ["a"]}, "anonymousId", "must be a string, not a list"),
        ({"userId": "   "}, "userId", "userId is blank; leave it out or give an id"),
        ({"userId": None, "anonymousId": ""}, "anonymousId", "anonymousId is blank"),
        ({"userId": True}, "userId", "userId must be a string, not a boolean"),
    ],
)
def test_ids_are_strings_and_never_blank_as_segment_specifies(
    client: Client, overrides: dict[str, Any], field: str, detail: str
) -> None:
    response = post_batch(client, [make_track(), make_track(**overrides)])
    assert response.status_code == 400, response.content
    problem = response.json()
    assert (problem["field"], problem["example"]["index"]) == (field, 1)
    assert detail in problem["detail"]
    assert not Message.objects.exists()


def test_an_anonymous_call_with_a_null_user_id_is_accepted(client: Client) -> None:
    response = post_batch(client, [make_track(userId=None, anonymousId="anon-1")])
    assert response.status_code == 200, response.content
    assert Message.objects.get().payload["anonymousId"] == "anon-1"


def test_a_repeated_message_id_with_other_content_is_reported_and_not_kept(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    first = make_track(messageId="m-1", event="Product Viewed")
    assert post_batch(client, [first]).status_code == 200
    assert post_batch(client, [first]).status_code == 200  # a retry: nothing to say
    assert caplog.records == []
    changed = {**first, "event": "Product Bought"}
    assert post_batch(client, [changed, make_track(messageId="m-2")]).status_code == 200
    assert [record.getMessage() for record in caplog.records] == [
        "tracking message m-1 was received before with other content (event differ); the "
        "first is kept, this one is not"
    ]
    assert Message.objects.get(message_id="m-1").payload["event"] == "Product Viewed"
    assert Message.objects.count() == 2
