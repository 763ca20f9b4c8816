"""Which orders count, and bad orders named."""

from __future__ import annotations

import pytest

from retain.analytics._tables import deliver
from retain.analytics.orders import completed_orders, net_refunds, orders_left_out
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


def test_a_parquet_file_carrying_the_checked_marker_is_checked_all_the_same(tmp_path) -> None:
    """The old marker lived in the Arrow schema, which a Parquet file keeps: a file carrying
    it passed with repeated order ids."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from retain.analytics.orders import is_checked
    from retain.report import analyze

    rows = {
        "customer_id": ["c1", "c2", "c3"],
        "order_id": ["o-1", "o-1", "o-2"],
        "ordered_at": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "amount": [10.0, 5, 7],
    }
    marked = pa.table(rows).replace_schema_metadata({b"retain.orders": b"checked"})
    path = tmp_path / "orders.parquet"
    pq.write_table(marked, path)
    uploaded = pq.read_table(path)
    assert uploaded.schema.metadata[b"retain.orders"] == b"checked"  # the file kept it
    assert not is_checked(uploaded)
    for run in (completed_orders, analyze):
        with pytest.raises(DataError) as raised:
            run(uploaded)
        assert str(raised.value) == (
            "column 'order_id': 1 order id appears more than once, on 2 rows; each order must "
            'be on one row (2 bad row(s), e.g. order_id "o-1")'
        )
        assert raised.value.details["column"] == "order_id"
        assert raised.value.details["example"]["order_id"] == "o-1"


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


@pytest.mark.parametrize(
    ("label", "counts"),
    [
        ("completed", True), ("Refunded", False), (" CANCELLED ", False), ("canceled", False),
        ("Pending payment", False), ("pending", False), ("pending_payment", False),
        ("unpaid", False), ("checkout-draft", False), ("processing", True), ("on-hold", True),
        ("On Hold", True), ("partially refunded", True), ("shipped", True), ("", True),
    ],
)  # fmt: skip
def test_which_statuses_count(label, counts) -> None:
    orders = make_orders([(1, "2024-01-01", 10.0)], status=[label])
    table, lazy = completed_orders(orders)
    assert len(deliver(table, lazy=lazy)) == int(counts)
    assert orders_left_out(orders).left_out == int(not counts)


def test_orders_left_out_counts_each_reason_once() -> None:
    orders = make_orders(
        [(1, "2024-01-01", 1.0), (1, "2024-01-02", 1.0), (2, "2024-01-03", 1.0),
         (2, "2024-03-01", 1.0), (3, "2024-03-02", 1.0), (3, "2024-01-04", 1.0)],
        status=["completed", "REFUNDED", "refunded", "Cancelled", "completed", "pending"],
    )  # fmt: skip
    report = orders_left_out(orders, observation_end="2024-01-31")
    # The March cancelled order is counted as cancelled (the status comes first).
    assert report.reasons == {"refunded": 2, "after the observation end": 1, "cancelled": 1,
                              "pending": 1}  # fmt: skip
    assert (report.total_orders, report.left_out, report.counted) == (6, 5, 1)
    assert report.line() == (
        "left out 5 orders of 6: 2 refunded, 1 after the observation end, 1 cancelled, 1 pending"
    )
    clean = orders_left_out(make_orders([(1, "2024-01-01", 1.0)]), observation_end="2024-01-31")
    assert clean.line() == "counted all 1 orders (none left out)"


def test_orders_left_out_runs_where_the_table_is() -> None:
    import ibis
    import pyarrow as pa

    orders = make_orders([(1, "2024-01-01", 1.0), (2, "2024-01-02", 1.0)], status=["x", "void"])
    lazy = ibis.memtable(pa.Table.from_pandas(orders))
    assert orders_left_out(lazy).reasons == {"void": 1}


def _with_refund_rows() -> object:
    # Order 10 refunded in part, order 11 in full (two refund rows), order 12 untouched.
    orders = make_orders(
        [(1, "2024-01-01", 50.0), (1, "2024-01-09", -20.0), (2, "2024-01-02", 30.0),
         (2, "2024-01-04", -10.0), (2, "2024-01-05", -20.0), (3, "2024-01-03", 7.0)]
    )  # fmt: skip
    orders["order_id"] = [10, 10, 11, 11, 11, 12]
    return orders


def test_negative_rows_are_refused_naming_them_unless_netted() -> None:
    orders = _with_refund_rows()
    with pytest.raises(DataError, match="refunds='net'") as refused:
        completed_orders(orders)
    assert refused.value.column == "amount" and refused.value.bad_rows == 3
    assert refused.value.example["order_id"] in (10, 11)
    table, lazy = completed_orders(orders, refunds="net")
    kept = deliver(table, lazy=lazy).sort_values("order_id")
    assert kept.order_id.tolist() == [10, 12]
    assert kept.amount.tolist() == [30.0, 7.0]


def test_an_order_refunded_in_full_by_rows_is_left_out_as_refunded() -> None:
    netted = net_refunds(_with_refund_rows()).sort_values("order_id")
    assert netted.amount.tolist() == [30.0, 0.0, 7.0]
    assert netted.status.tolist()[1] == "refunded"
    report = orders_left_out(_with_refund_rows(), refunds="net")
    assert (report.total_orders, report.reasons) == (3, {"refunded": 1})


@pytest.mark.parametrize(
    ("change", "column", "rule", "example_order"),
    [
        ({"order_id": [10, 99, 11, 11, 11, 12]}, "amount", "no order of the same order_id", 99),
        ({"customer_id": [1, 2, 2, 2, 2, 3]}, "customer_id", "customer differs", 10),
        ({"amount": [50.0, -80.0, 30.0, -10.0, -20.0, 7.0]}, "amount", "larger than the order", 10),
    ],
)
def test_refund_rows_that_cannot_be_netted_are_refused(change, column, rule, example_order) -> None:
    orders = _with_refund_rows()
    for name, values in change.items():
        orders[name] = values
    with pytest.raises(DataError, match=rule) as refused:
        net_refunds(orders)
    assert refused.value.column == column and refused.value.bad_rows == 1
    assert refused.value.example["order_id"] == example_order


def test_refunds_must_be_refuse_or_net() -> None:
    with pytest.raises(DataError, match="refunds must be 'refuse' or 'net', got 'guess'"):
        completed_orders(make_orders([(1, "2024-01-01", 1.0)]), refunds="guess")


@pytest.mark.parametrize("amount", [float("inf"), 1e308, 1e12])
def test_amounts_no_order_can_have_are_refused(amount) -> None:
    """Sums of such amounts overflow or lose the cents in the models, and the store keeps
    14 digits: the check refuses them by name instead of a later step failing."""
    orders = make_orders([(1, "2024-01-01", amount), (2, "2024-01-02", 5.0)])
    with pytest.raises(DataError) as raised:
        completed_orders(orders)
    assert raised.value.column == "amount"
    assert raised.value.bad_rows == 1
    assert "amount is 1,000,000,000,000 or more (or infinite)" in str(raised.value)
