"""Each score read out in one plain line, including the customers the numbers say least
about: never scored, bought once, bought for free, refunded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from retain.customers.profile import OrderFacts, order_facts
from retain.customers.readings import score_readings, unscored_reading
from tests.customers.builders import make_customer, make_order, make_score

pytestmark = pytest.mark.django_db
TODAY = dt.date(2025, 3, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _days(*days: str) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(day) for day in days)


def _facts(days: tuple[dt.date, ...], *, left_out: int = 0, zero_value: int = 0) -> OrderFacts:
    return OrderFacts(
        orders=len(days) + left_out, left_out=left_out, days=days,
        counted_value=Decimal(10 * (len(days) - zero_value)), zero_value=zero_value,
    )  # fmt: skip


def _reading(label: str, score, facts: OrderFacts) -> str:
    readings = {reading.label: reading for reading in score_readings(score, facts, today=TODAY)}
    return readings[label].reading


def test_a_lapsed_customer_reads_with_their_last_order_and_rhythm() -> None:
    score = make_score(p_alive=0.23, churn_risk="high")
    # every two months through 2023, the last order 14 months before TODAY
    days = _days("2023-01-01", "2023-03-02", "2023-05-01", "2023-06-30", "2023-08-29",
                 "2023-10-28", "2023-12-27")  # fmt: skip
    line = _reading("P(alive)", score, _facts(days))
    assert line == "Likely lapsed \u2014 last order 14 months ago, usually orders every 2 months"
    assert _reading("Churn risk", score, _facts(days)).startswith("P(alive) below 30%")


def test_a_one_time_buyer_is_read_as_too_early_to_know() -> None:
    score = make_score(p_alive=1.0, churn_risk="low")
    line = _reading("P(alive)", score, _facts(_days("2024-12-01")))
    assert line == (
        "Likely still a customer \u2014 bought once, 3 months ago; no repeat order yet to learn "
        "a rhythm from"
    )


def test_free_orders_read_as_nothing_expected() -> None:
    score = make_score(clv_12m=0.0, value_decile=1)
    facts = _facts(_days("2024-11-01", "2025-01-01"), zero_value=2)
    assert _reading("Predicted 12-month value", score, facts) == (
        "Nothing expected: every order so far was free (a value of 0)."
    )
    paid = _facts(_days("2024-11-01", "2025-01-01"), zero_value=1)
    assert "lowest tenth" in _reading("Predicted 12-month value", score, paid)


def test_refunded_orders_are_said_not_to_count() -> None:
    score = make_score(p_alive=0.8)
    one = _reading("P(alive)", score, _facts(_days("2025-01-01", "2025-02-01"), left_out=1))
    assert one.endswith("(1 refunded or cancelled order not counted)")
    two = _reading("P(alive)", score, _facts(_days("2025-01-01", "2025-02-01"), left_out=2))
    assert two.endswith("(2 refunded or cancelled orders not counted)")


def test_the_segment_stage_and_expected_orders_are_explained() -> None:
    score = make_score(rfm_segment="can't lose them", rfm_score="154", lifecycle_stage="dormant",
                       next_order_date=None, expected_purchases_30d=0.04)  # fmt: skip
    facts = _facts(_days("2024-01-01", "2024-06-01"))
    assert _reading("RFM segment", score, facts) == (
        "used to order the most, silent for long: win them back "
        "(recency 1, frequency 5, money 4, each from 1 to 5)"
    )
    assert _reading("Lifecycle stage", score, facts) == "the last order 3 to 5 months ago"
    expected = _reading("Expected orders", score, facts)
    assert expected.startswith("About 0.0 orders in the next 30 days, 0.5 in 90 days, 1.7")
    assert expected.endswith("a next order is less likely than not ever to come")


def test_readings_follow_the_readers_language() -> None:
    score = make_score(p_alive=0.23, clv_12m=1234.5)
    with translation.override("el"):
        readings = score_readings(score, _facts(_days("2024-01-01")), today=TODAY)
    assert readings[0].value == "23%"
    assert "1.234,50" in readings[2].value  # Greek groups with dots, decimals with a comma


def test_never_scored_customers_are_told_why() -> None:
    assert unscored_reading(_facts(()), None) == (
        "No order yet: the scores come with the first paid order."
    )
    customer = make_customer()
    make_order(customer, status="refunded")
    make_order(customer, status="Cancelled ")
    assert unscored_reading(order_facts(customer), None) == (
        "None of their 2 orders counts (refunded, cancelled or unpaid): nothing to score yet."
    )
    make_order(customer, status="processing")
    assert unscored_reading(order_facts(customer), None) == (
        "Not scored yet: the next rescoring scores this customer."
    )
    assert unscored_reading(order_facts(customer), "order 'o-1': its amount is negative") == (
        "Not scored: the last rescoring set this customer aside "
        "(order 'o-1': its amount is negative)."
    )


def test_order_facts_count_by_the_analytics_rule_and_utc_day() -> None:
    customer = make_customer()
    late = dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    make_order(customer, ordered_at=late, amount=Decimal("0"))  # 2024-03-02 in UTC
    make_order(customer, ordered_at=dt.datetime(2024, 3, 2, 8, tzinfo=dt.UTC))
    make_order(customer, ordered_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC), status="on-hold")
    make_order(customer, ordered_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC), status="REFUNDED")
    facts = order_facts(customer)
    assert (facts.orders, facts.left_out, facts.counted, facts.zero_value) == (4, 1, 3, 1)
    assert facts.days == _days("2024-03-02", "2024-05-01")
    assert facts.counted_value == Decimal("39.80")
    assert facts.typical_gap_days == 60
