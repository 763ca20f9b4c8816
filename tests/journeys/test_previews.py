"""A preview renders a journey's emails for one customer as the runner would, storing
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retain.errors import NotFound
from retain.journeys.previews import preview_journey
from retain.messaging.models import Message
from tests.customers.builders import make_customer, make_order
from tests.journeys.test_runner import _thank_you

pytestmark = pytest.mark.django_db


def test_a_preview_renders_each_email_in_the_customers_language_with_their_order() -> None:
    _thank_you()
    customer = make_customer(name="Somchai Jaidee", traits={"locale": "th"})
    make_order(customer, external_id="Z-9", amount=Decimal("99.50"), currency="THB",
               ordered_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))  # fmt: skip
    (preview,) = preview_journey("thanks", customer.external_id)
    assert preview.message.subject == "ขอบคุณ Somchai"
    assert "Z-9" in (preview.message.html or "")
    assert preview.to == customer.email and preview.topic == "orders"
    assert not Message.objects.exists()


def test_a_preview_for_an_unknown_customer_or_journey_says_which() -> None:
    _thank_you()
    with pytest.raises(NotFound, match="nobody"):
        preview_journey("thanks", "nobody")
    with pytest.raises(NotFound, match="nothing"):
        preview_journey("nothing", make_customer().external_id)
