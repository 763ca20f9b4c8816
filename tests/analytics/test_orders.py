"""Which orders count, and bad orders named."""

from __future__ import annotations

import pytest

from retain.analytics._tables import deliver
from retain.analytics.orders import completed_orders
from retain.errors import DataError
from tests.analytics.builders import make_orders


def test_refunded_and_cancelled_orders_do_not_count_whatever_the_case() -> None:
    orders = make_orders(
        [
            (1, "2024-01-01", 10.0),
            (1, "2024-01-02", 5.0),
            (2, "2024-01-03", 7.0),
            (3, "2024-01-04", 1.0),
        ],
        status=["completed", "REFUNDED", " cancelled ", None],
    )
    table, lazy = completed_orders(orders)
    kept = deliver(table, lazy=lazy)
    assert sorted(kept.order_id) == [1, 4]


def test_without_a_status_column_every_order_counts() -> None:
    table, lazy = completed_orders(make_orders([(1, "2024-01-01", 10.0), (2, "2024-01-02", 5.0)]))
    assert len(deliver(table, lazy=lazy)) == 2


@pytest.mark.parametrize(
    ("change", "column", "bad_rows"),
    [
        ({"amount": [10.0, -1.0, -2.0]}, "amount", 2),
        ({"amount": [10.0, float("nan"), 1.0]}, "amount", 1),
        ({"ordered_at": ["2024-01-01", "tomorrow", "2024-01-02"]}, "ordered_at", 1),
        ({"customer_id": [1, None, 2]}, "customer_id", 1),
        ({"order_id": [7, 7, 8]}, "order_id", 2),
    ],
)
def test_bad_orders_are_named_with_count_and_example(change, column, bad_rows) -> None:
    orders = make_orders([(1, "2024-01-01", 10.0), (2, "2024-01-02", 5.0), (3, "2024-01-03", 1.0)])
    for name, values in change.items():
        orders[name] = values
    with pytest.raises(DataError) as caught:
        completed_orders(orders)
    assert caught.value.column == column
    assert caught.value.bad_rows == bad_rows
    assert caught.value.example is not None


def test_missing_column_is_named() -> None:
    orders = make_orders([(1, "2024-01-01", 10.0)]).drop(columns="order_id")
    with pytest.raises(DataError, match="order_id"):
        completed_orders(orders)


def test_orders_marked_as_checked_are_not_checked_again() -> None:
    from retain.analytics.orders import is_checked, mark_checked

    table, lazy = completed_orders(make_orders([(1, "2024-01-01", 10.0), (2, "2024-01-02", 5.0)]))
    kept = mark_checked(table.to_pyarrow())
    assert is_checked(kept)
    again, lazy = completed_orders(kept)
    assert not lazy and again.count().to_pyarrow().as_py() == 2
    # A plain Arrow table with the same rows is checked as any other input.
    assert not is_checked(table.to_pyarrow())


def test_orders_in_two_currencies_are_refused_naming_the_minority() -> None:
    rows = [(1, "2024-01-01", 10.0), (2, "2024-01-02", 5.0), (3, "2024-01-03", 7.0)]
    orders = make_orders(rows, currency=["EUR", "EUR", "USD"])
    with pytest.raises(DataError, match=r"2 currencies \(EUR and USD\)") as raised:
        completed_orders(orders)
    assert raised.value.column == "currency" and raised.value.bad_rows == 1
    assert raised.value.example["currency"] == "USD"
    table, lazy = completed_orders(orders, currency=None)  # a store keeps them all
    assert len(deliver(table, lazy=lazy)) == 3


def test_one_currency_with_some_left_blank_is_fine() -> None:
    rows = [(1, "2024-01-01", 10.0), (2, "2024-01-02", 5.0)]
    table, lazy = completed_orders(make_orders(rows, currency=["EUR", None]))
    assert len(deliver(table, lazy=lazy)) == 2
