"""Every import is recorded, whichever door it came through: who, which file, when, the rows
read and what was created or updated, or why nothing was (the problems, the first 100 kept
with their count). The record of a stored file commits with its rows, never apart."""

from __future__ import annotations

import getpass
import subprocess
import sys

import pytest

from retain.customers.models import Customer, Order
from retain.errors import DataError
from retain.ingest import import_runs
from retain.ingest.import_history import KEPT_PROBLEMS, Who, record_refused, start_import_run
from retain.ingest.import_runs import run_import
from retain.ingest.models import ImportOutcome, ImportRun, ImportVia
from tests.customers.builders import make_customer, make_order
from tests.ingest.files import store_snapshot
from tests.store import child_environment

ORDERS = "customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-05,10.50\nc2,o2,2026-01-06,3\n"


@pytest.mark.django_db
def test_a_stored_file_is_recorded_with_its_counts(tmp_path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    who = Who(via=ImportVia.CONSOLE, actor="ann")

    run_import("orders", path, name="orders.csv", who=who)
    run_import("orders", path, name="orders.csv", who=who)

    first, again = ImportRun.objects.order_by("pk")
    assert (first.outcome, first.rows_read, first.created, first.customers_created) == (
        ImportOutcome.IMPORTED, 2, 2, 2
    )  # fmt: skip
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (first.via, first.actor, first.problem_count) == ("console", "ann", 0)


@pytest.mark.django_db
def test_a_refused_file_is_recorded_with_every_problem_in_the_files_terms(tmp_path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS.replace("2026-01-06", "soon").replace("10.50", "lots"))

    with pytest.raises(DataError):
        run_import("orders", path, name="orders.csv")

    run = ImportRun.objects.get()
    assert (run.outcome, run.rows_read, run.problem_count) == (ImportOutcome.REFUSED, 2, 2)
    by_column = {problem["column"]: problem for problem in run.problems}
    assert by_column["amount"]["example"] == {
        "line": 2, "customer_id": "c1", "order_id": "o1", "amount": "lots"
    }  # fmt: skip
    assert by_column["ordered_at"]["bad_rows"] == 1
    assert "nothing was imported" in run.detail
    assert (run.via, run.actor) == (ImportVia.COMMAND, getpass.getuser())
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_moved_orders_are_recorded_as_one_problem_with_the_line_and_ids(tmp_path) -> None:
    make_order(customer=make_customer(external_id="007"), external_id="A-1")
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_id,ordered_at,amount\n7,A-1,2024-01-05,10\n")
    before = store_snapshot()

    with pytest.raises(DataError):
        run_import("orders", path, name="orders.csv")

    run = ImportRun.objects.get()
    assert run.outcome == ImportOutcome.REFUSED and run.problem_count == 1
    assert run.problems == [{
        "column": "customer_id", "rule": "already stored under another customer id",
        "bad_rows": 1,
        "example": {"line": 2, "key": "A-1", "stored_customer": "007", "given_customer": "7"},
    }]  # fmt: skip
    assert store_snapshot() == before


@pytest.mark.django_db
def test_the_problems_kept_are_bounded_and_all_are_counted() -> None:
    run = start_import_run("orders", file_name="huge.csv", who=Who(via=ImportVia.API))
    problems = [{"column": f"c{n}", "rule": "is missing", "bad_rows": n, "example": None}
                for n in range(150)]  # fmt: skip

    record_refused(run.pk, detail="150 problem(s)", details={"problems": problems, "rows": 9})

    run.refresh_from_db()
    assert (run.problem_count, len(run.problems), run.rows_read) == (150, KEPT_PROBLEMS, 9)
    assert run.problems[0]["column"] == "c0" and run.problems[-1]["column"] == "c99"


@pytest.mark.django_db
def test_the_record_of_a_stored_file_commits_with_its_rows_or_not_at_all(
    tmp_path, monkeypatch
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)

    def fails_after_the_record(result) -> None:
        assert ImportRun.objects.get().outcome == ImportOutcome.IMPORTED  # written, not committed
        raise RuntimeError("the process dies here")

    monkeypatch.setattr(import_runs, "wake_awaited", fails_after_the_record)

    with pytest.raises(RuntimeError):
        run_import("orders", path, name="orders.csv")

    assert not Order.objects.exists() and not Customer.objects.exists()
    run = ImportRun.objects.get()
    assert run.outcome == ImportOutcome.FAILED and "the process dies here" in run.detail


@pytest.mark.django_db(transaction=True)
def test_retain_import_is_recorded_under_the_system_account(tmp_path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)

    done = subprocess.run(
        [sys.executable, "-m", "retain.cli", "import", "orders", str(path)],
        env=child_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    run = ImportRun.objects.get()
    assert (run.via, run.actor, run.file_name, run.outcome, run.created) == (
        ImportVia.COMMAND, getpass.getuser(), str(path), ImportOutcome.IMPORTED, 2
    )  # fmt: skip
