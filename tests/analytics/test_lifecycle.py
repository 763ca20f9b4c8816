"""Lifecycle stages on a hand-made base where each customer shows one rule."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.analytics.lifecycle import STAGES, lifecycle_stages, lifecycle_transitions
from retain.errors import DataError
from tests.analytics.builders import make_orders, random_orders

# One customer per stage on 2024-12-31, plus one whose first order comes later.
BASE = [
    (1, "2024-12-05", 1.0),                            # new
    (2, "2024-11-05", 1.0), (2, "2024-12-02", 1.0),    # active
    (3, "2024-10-01", 1.0), (3, "2024-12-20", 1.0),    # returning after two months
    (4, "2024-05-01", 1.0), (4, "2024-12-20", 1.0),    # reactivated after seven
    (5, "2024-11-11", 1.0),                            # at risk
    (6, "2024-08-01", 1.0),                            # dormant
    (7, "2024-03-01", 1.0),                            # churned
    (8, "2025-01-02", 1.0),                            # not a customer yet
]  # fmt: skip


def test_each_rule_gives_its_stage() -> None:
    stages = lifecycle_stages(make_orders(BASE), as_of="2024-12-31")
    assert list(stages.customer_id) == [1, 2, 3, 4, 5, 6, 7]
    assert list(stages.stage) == list(STAGES)
    assert list(stages.periods_since_last_order) == [0, 0, 0, 0, 1, 4, 9]


def test_thresholds_move_customers_between_dormant_and_churned() -> None:
    stages = lifecycle_stages(
        make_orders(BASE), as_of="2024-12-31", dormant_after=2, churned_after=4
    )
    by_customer = dict(zip(stages.customer_id, stages.stage, strict=True))
    assert by_customer[3] == "reactivated"  # a two-month pause is now long
    assert by_customer[6] == "churned"


def test_transitions_account_for_every_customer_at_the_end() -> None:
    orders = random_orders(4_000, 600, seed=8)
    moves = lifecycle_transitions(orders, start="2024-06-30", end="2024-12-31")
    end = lifecycle_stages(orders, as_of="2024-12-31")
    assert moves.customers.sum() == len(end)
    arrivals = moves[moves.from_stage == "not yet a customer"]
    counted = orders[~orders.status.str.lower().isin(["refunded", "cancelled"])]
    first_orders = counted.groupby("customer_id").ordered_at.min()
    arrived = first_orders[first_orders > pd.Timestamp("2024-07-01")]
    arrived = arrived[arrived < pd.Timestamp("2025-01-01")]
    assert arrivals.customers.sum() == len(arrived) > 0  # every newcomer, and there are some
    assert set(arrivals.to_stage) <= set(STAGES)
    # A customer seen in June cannot be "new" in December.
    assert moves[(moves.from_stage != "not yet a customer") & (moves.to_stage == "new")].empty


def test_hand_made_transitions() -> None:
    moves = lifecycle_transitions(make_orders(BASE), start="2024-10-31", end="2024-12-31")
    pairs = {
        (a, b): n for a, b, n in zip(moves.from_stage, moves.to_stage, moves.customers, strict=True)
    }
    assert pairs[("dormant", "reactivated")] == 1  # customer 4
    assert pairs[("new", "returning")] == 1  # customer 3
    assert pairs[("not yet a customer", "active")] == 1  # customer 2


@pytest.mark.parametrize(("dormant", "churned"), [(1, 6), (4, 4), (5, 3)])
def test_bad_thresholds_are_refused(dormant, churned) -> None:
    expected = rf"need 1 < dormant_after < churned_after, got {dormant} and {churned}$"
    with pytest.raises(DataError, match=expected):
        lifecycle_stages(
            make_orders(BASE), as_of="2024-12-31", dormant_after=dormant, churned_after=churned
        )


def test_transitions_between_stage_tables_equal_the_direct_count() -> None:
    from retain.analytics.lifecycle import transitions_between

    orders = random_orders(2_000, 300, seed=9)
    direct = lifecycle_transitions(orders, start="2024-06-30", end="2024-12-31")
    composed = transitions_between(
        lifecycle_stages(orders, as_of="2024-06-30"), lifecycle_stages(orders, as_of="2024-12-31")
    )
    assert composed.equals(direct)


def test_history_agrees_with_the_stage_on_every_month_end() -> None:
    from retain.analytics.lifecycle import lifecycle_history

    orders = random_orders(1_500, 200, seed=10)
    history = lifecycle_history(orders, until="2024-12-31")
    for month_end in ("2023-03-31", "2023-11-30", "2024-06-30", "2024-12-31"):
        start = pd.Timestamp(month_end).replace(day=1).date()
        in_month = history[history.period == start].set_index("customer_id").stage
        on_day = lifecycle_stages(orders, as_of=month_end).set_index("customer_id").stage
        assert in_month.sort_index().equals(on_day.sort_index()), month_end


def test_history_has_every_period_from_the_first_order() -> None:
    from retain.analytics.lifecycle import lifecycle_history

    history = lifecycle_history(make_orders(BASE), until="2024-12-31")
    customer_4 = history[history.customer_id == 4]
    assert len(customer_4) == 8  # May to December
    assert customer_4.stage.tolist() == [
        "new", "at risk", "at risk", "dormant", "dormant", "dormant", "churned", "reactivated",
    ]  # fmt: skip
