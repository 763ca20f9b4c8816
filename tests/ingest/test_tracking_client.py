"""The tracking door driven by Segment's own Python client against a real ``retain serve``."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from retain.customers.models import Customer, Event, Order
from retain.ingest.models import Message
from retain.worker.runner import run_jobs_until_idle
from tests.ingest.builders import make_write_key
from tests.store import running_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_replay_of_10000_events_with_duplicates_stores_each_once() -> None:
    write_key, errors = make_write_key(), []
    unique_ids = [str(uuid.uuid4()) for _ in range(8_000)]
    replayed = random.Random(5).choices(unique_ids, k=2_000)  # 20% of the calls are repeats
    with running_server() as base:
        client = Client(write_key, host=base, upload_size=100, max_queue_size=20_000,
                        on_error=lambda error, batch: errors.append(error))  # fmt: skip
        for number, message_id in enumerate(unique_ids + replayed):
            client.track(user_id=f"c-{number % 50}", event="Product Viewed",
                         properties={"n": number}, message_id=message_id)  # fmt: skip
        client.shutdown()
    assert errors == []
    assert Message.objects.count() == 8_000
    assert set(Message.objects.values_list("message_id", flat=True)) == set(unique_ids)
    run_jobs_until_idle()
    assert Event.objects.count() == 8_000
    assert not Message.objects.filter(applied_at__isnull=True).exists()


def test_identify_and_order_completed_reach_the_store_gzipped() -> None:
    write_key = make_write_key()
    ordered = dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC)
    with running_server() as base:
        client = Client(write_key, host=base, sync_mode=True, gzip=True)
        client.identify("c-42", {"email": "bo@example.com", "name": "Bo", "unsubscribed": False})
        client.track("c-42", "Order Completed", timestamp=ordered,
                     properties={"order_id": "o-42", "total": 12.5, "currency": "EUR"})  # fmt: skip
    run_jobs_until_idle()
    customer = Customer.objects.get(external_id="c-42")
    assert (customer.email, customer.name) == ("bo@example.com", "Bo")
    order = Order.objects.get(external_id="o-42")
    assert (order.customer, order.amount, order.currency) == (customer, Decimal("12.50"), "EUR")
    # The client stamps sentAt just before sending: the corrected time is within a few seconds.
    assert abs(order.ordered_at - ordered) < dt.timedelta(seconds=5)


@pytest.mark.parametrize(("scopes", "status"), [(None, 401), (("read",), 403)])
def test_a_wrong_key_or_scope_is_refused_by_the_client_and_stores_nothing(
    scopes: tuple[str, ...] | None, status: int
) -> None:
    write_key = "rk_nothere_wrong" if scopes is None else make_write_key(*scopes)
    with running_server() as base:
        client = Client(write_key, host=base, sync_mode=True, max_retries=0)
        with pytest.raises(APIError) as refused:
            client.track("c-1", "Product Viewed")
    assert refused.value.status == status
    assert refused.value.code == "permission_denied"  # the client reads our code and message
    assert not Message.objects.exists()
