"""`retain import KIND FILE` in its own process, on the test database: counts on stdout, a bad
file as one red line and exit code 2 with nothing stored."""

from __future__ import annotations

import subprocess
import sys

import pytest

from retain.customers.models import Customer, Order
from retain.datasets import make_business
from tests.ingest.files import write_file
from tests.store import child_environment


def retain_import(kind: str, path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retain.cli", "import", kind, str(path)],
        env=child_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_retain_import_prints_the_counts_and_a_second_run_changes_nothing(tmp_path):
    business = make_business(20, seed=4)
    path = write_file(business.orders, tmp_path, "orders", "parquet")
    n = len(business.orders)

    first, again = retain_import("orders", path), retain_import("orders", path)

    assert first.returncode == 0, first.stderr
    assert f"{n:,} created, 0 updated, 0 unchanged" in first.stdout
    assert f"0 created, 0 updated, {n:,} unchanged" in again.stdout
    assert Order.objects.count() == n
    assert Customer.objects.count() == business.orders.customer_id.nunique()


@pytest.mark.django_db(transaction=True)
def test_retain_import_refuses_a_bad_file_in_one_line(tmp_path):
    customers = make_business(20, seed=4).customers.astype({"signed_up_at": object})
    customers.loc[3, "signed_up_at"] = "whenever"
    customers.loc[4, "customer_id"] = customers.loc[5, "customer_id"]

    done = retain_import("customers", write_file(customers, tmp_path, "customers", "csv"))

    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "error [data_error]" in line and "'signed_up_at'" in line and "'customer_id'" in line
    assert Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_retain_import_says_which_orders_stay_refunded(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_id,ordered_at,amount,status\n"
        "c-1,o-1,2026-01-05,10.00,completed\nc-1,o-2,2026-01-06,5.00,completed\n"
    )
    assert retain_import("orders", path).returncode == 0
    Order.objects.filter(external_id="o-1").update(status="refunded")  # as a tracked refund

    again = retain_import("orders", path)

    assert again.returncode == 0, again.stderr
    assert "0 created, 0 updated, 2 unchanged" in again.stdout
    assert "1 order(s) stay refunded: the file states them otherwise" in again.stdout
    assert Order.objects.get(external_id="o-1").status == "refunded"
