"""The report: conversions and revenue read from the store for treatment and holdout alike,
the order that entered a customer left out."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.journeys.report import journey_report
from retain.journeys.tasks import run_once
from tests.customers.builders import make_customer
from tests.journeys.builders import apply_journey
from tests.journeys.test_runner import NOON, _order

pytestmark = pytest.mark.django_db


def test_the_entering_order_is_no_conversion_and_a_later_one_in_the_window_is() -> None:
    apply_journey(
        "again", trigger={"event": "Order Completed", "first_order": True}, topic="orders",
        holdout=0, goal={"event": "Order Completed", "within_days": 14},
        steps=[{"set": {"tags": ["first"]}}],
    )  # fmt: skip
    back, gone, late = make_customer(), make_customer(), make_customer()
    for number, customer in enumerate((back, gone, late)):
        _order(customer, f"first-{number}")
    for _ in range(3):
        run_once(now=NOON)
    _order(back, "second-0", NOON + dt.timedelta(days=3))
    _order(late, "second-2", NOON + dt.timedelta(days=20))  # after the window
    report = journey_report("again").as_json()
    assert report["enrolled"] == 3 and report["converted"] == 1
    assert report["treatment"]["revenue"] == pytest.approx(1234.5)
    assert report["held_out"] == 0 and report["uplift"]["estimate"] is None
