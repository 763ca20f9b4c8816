"""Imports of files as shops export them, read by the same reader as the analyses; orders do
not move between customers unless the import says so."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from retain.customers.models import Customer, Order
from retain.errors import DataError
from retain.ingest.import_runs import import_file
from retain.io import FileOptions, read_file
from tests.customers.builders import make_customer, make_order
from tests.ingest.files import store_snapshot
from tests.store import child_environment

pytestmark = pytest.mark.django_db
UTC = dt.UTC

SHOP_EXPORT = (
    "\ufeffcustomer_id;order_id;ordered_at;amount;status;note\r\n"
    "007;A/1;05.03.2024 23:30;1.234,50;Completed;gift\r\n"
    "7;A/2;2024-03-06T10:00:00+07:00;12,00;REFUNDED;\r\n"
)
SHOP_OPTIONS = FileOptions(decimal=",", thousands=".", day_first=True, timezone="Europe/Berlin")


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_shops_export_imports_as_the_analyses_read_it(tmp_path) -> None:
    path = write(tmp_path, SHOP_EXPORT)

    result = import_file("orders", path, options=SHOP_OPTIONS)

    assert (result.rows, result.created, result.customers_created) == (2, 2, 2)
    stored = {
        o.external_id: (o.customer.external_id, o.amount, o.ordered_at, o.status)
        for o in Order.objects.select_related("customer")
    }
    assert stored == {
        "A/1": (
            "007",
            Decimal("1234.50"),
            dt.datetime(2024, 3, 5, 22, 30, tzinfo=UTC),
            "completed",
        ),
        "A/2": ("7", Decimal("12.00"), dt.datetime(2024, 3, 6, 3, tzinfo=UTC), "refunded"),
    }
    analysed = read_file(path, kind="orders", options=SHOP_OPTIONS).to_pylist()
    assert [(r["customer_id"], r["order_id"], r["amount"], r["ordered_at"]) for r in analysed] == [
        ("007", "A/1", "1234.50", "2024-03-05 23:30:00"),  # the shop's wall clock
        ("7", "A/2", "12.00", "2024-03-06 04:00:00"),
    ]


def test_a_decimal_comma_is_refused_without_the_option_and_nothing_is_stored(tmp_path) -> None:
    before = store_snapshot()
    with pytest.raises(DataError) as raised:
        import_file("orders", write(tmp_path, SHOP_EXPORT), options=FileOptions(day_first=True))
    assert raised.value.column == "amount"
    assert 'line 2: customer_id "007", order_id "A/1", amount "1.234,50"' in str(raised.value)
    assert store_snapshot() == before


def test_a_customers_file_with_only_an_id_and_an_email_imports(tmp_path) -> None:
    path = write(tmp_path, "customer_id,email\n007,ann@example.com\n7,bo@example.com\n", "c.csv")
    result = import_file("customers", path)
    assert (result.rows, result.created) == (2, 2)
    stored = dict(Customer.objects.values_list("external_id", "email"))
    assert stored == {"007": "ann@example.com", "7": "bo@example.com"}
    assert list(Customer.objects.values_list("signed_up_at", flat=True)) == [None, None]


def test_repeated_order_ids_in_a_file_count_ids_and_rows(tmp_path) -> None:
    text = "customer_id,order_id,ordered_at,amount\n" + "".join(
        f"c{i},{order},2024-01-0{i + 1},1\n" for i, order in enumerate(["A", "B", "A", "B", "A"])
    )
    with pytest.raises(DataError) as raised:
        import_file("orders", write(tmp_path, text))
    (problem,) = raised.value.details["problems"]
    assert (problem["column"], problem["bad_rows"]) == ("order_id", 5)
    assert problem["rule"].startswith("2 order ids appear more than once, on 5 rows")
    assert problem["example"] == {"lines": "2, 4, 6", "order_id": "A"}


def test_an_order_stored_under_another_customer_is_not_moved(tmp_path) -> None:
    kept = make_order(customer=make_customer(external_id="007"), external_id="A-1")
    make_order(customer=make_customer(external_id="8"), external_id="A-2")
    before = store_snapshot()
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        "7,A-1,2024-01-05,10\n"  # stored under 007: 7 is another customer
        "8,A-2,2024-01-05,10\n"
        "9,A-3,2024-01-05,10\n"
    )
    path = write(tmp_path, text)

    with pytest.raises(DataError) as raised:
        import_file("orders", path)

    message = str(raised.value)
    assert message.startswith(f"{path}: column 'customer_id': 1 row(s) are already stored under")
    assert 'line 2: "A-1" is stored under customer "007", the file gives "7"' in message
    assert "--allow-moves" in message
    assert raised.value.details["moves"][0]["line"] == 2
    assert store_snapshot() == before  # not even the bare customers 7 and 9

    result = import_file("orders", path, allow_moves=True)
    assert (result.created, result.updated, result.unchanged) == (1, 2, 0)
    kept.refresh_from_db()
    assert kept.customer.external_id == "7"


@pytest.mark.django_db(transaction=True)
def test_retain_import_refuses_a_move_in_one_line_and_allows_it_when_asked(tmp_path) -> None:
    make_order(customer=make_customer(external_id="007"), external_id="A-1")
    path = write(tmp_path, "Customer;Order;Date;Total\n7;A-1;05/01/2024;1,00\n")
    command = [sys.executable, "-m", "retain.cli", "import", "orders", str(path),
               "--customer-id", "Customer", "--order-id", "Order", "--ordered-at", "Date",
               "--amount", "Total", "--decimal", ",", "--month-first"]  # fmt: skip

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *extra], env=child_environment(),
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    refused = run()
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert 'line 2: "A-1" is stored under customer "007", the file gives "7"' in line
    allowed = run("--allow-moves")
    assert allowed.returncode == 0, allowed.stderr
    order = Order.objects.select_related("customer").get(external_id="A-1")
    assert (order.customer.external_id, order.amount) == ("7", Decimal("1.00"))
    assert order.ordered_at == dt.datetime(2024, 5, 1, tzinfo=UTC)


def test_infinite_and_huge_amounts_are_refused_by_name_and_nothing_is_stored(tmp_path) -> None:
    """``inf`` and ``1e308`` parse as numbers; the store keeps 14 digits, so the door refuses
    them (they crashed the conversion to exact decimals before)."""
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        "c1,o1,2024-01-01,inf\nc2,o2,2024-01-02,1e308\nc3,o3,2024-01-03,5\n"
    )
    before = store_snapshot()
    with pytest.raises(DataError) as raised:
        import_file("orders", write(tmp_path, text))
    message = str(raised.value)
    assert "column 'amount': amount is 1,000,000,000,000 or more (or infinite)" in message
    assert '2 row(s), e.g. line 2: customer_id "c1", order_id "o1", amount "inf"' in message
    assert store_snapshot() == before
