"""An upload is checked and imported in a process of its own, never in the server's: the
answer comes back from another pid, with the counts or every problem; a process that is
killed or crashes is a 500 problem and nothing is stored; the import is recorded either way."""

from __future__ import annotations

import os

import pytest

from retain.customers.models import Customer, Order
from retain.ingest.import_answers import CHECKED, FAILED, IMPORTED, REFUSED
from retain.ingest.import_history import Who
from retain.ingest.models import ImportOutcome, ImportRun, ImportVia
from retain.ingest.saved_uploads import saved_for_now
from retain.ingest.upload_imports import check_upload, import_upload
from retain.io import FileOptions

pytestmark = pytest.mark.django_db(transaction=True)  # the child reads what the test wrote

ORDERS = b"customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-05,10.50\nc2,o2,2026-01-06,3\n"
BAD = (
    b"customer_id,order_id,ordered_at,amount\n"
    b"c1,o1,2026-01-05,10.50\nc2,o2,soon,3\nc3,o3,2026-01-07,lots\n"
)
LOADER = Who(via=ImportVia.API, actor="loader")


def test_an_upload_is_imported_in_another_process_and_recorded() -> None:
    with saved_for_now([ORDERS], name="orders.csv") as upload:
        answer = import_upload(upload, "orders", options=FileOptions(), who=LOADER)

    assert answer.outcome == IMPORTED, answer.problem
    assert answer.pid is not None and answer.pid != os.getpid()
    assert (answer.result["created"], answer.result["customers_created"]) == (2, 2)
    assert Order.objects.count() == 2
    run = ImportRun.objects.get(pk=answer.run_id)
    assert (run.outcome, run.kind, run.file_name, run.via, run.actor) == (
        ImportOutcome.IMPORTED, "orders", "orders.csv", ImportVia.API, "loader"
    )  # fmt: skip
    assert (run.rows_read, run.created, run.updated, run.customers_created) == (2, 2, 0, 2)
    assert run.finished_at >= run.started_at


def test_a_check_lists_every_problem_with_its_line_and_stores_nothing() -> None:
    with saved_for_now([BAD], name="orders.csv") as upload:
        answer = check_upload(upload, "orders", options=FileOptions())

    assert answer.outcome == REFUSED and answer.pid != os.getpid()
    problems = {p["column"]: p for p in answer.problem["problems"]}
    assert set(problems) == {"ordered_at", "amount"}
    assert problems["ordered_at"]["example"]["line"] == 3
    assert problems["amount"]["example"] == {
        "line": 4, "customer_id": "c3", "order_id": "o3", "amount": "lots"
    }  # fmt: skip
    assert not Order.objects.exists() and not Customer.objects.exists()
    assert not ImportRun.objects.exists()  # a check is no import


def test_a_good_file_checks_with_its_row_count() -> None:
    with saved_for_now([ORDERS], name="orders.csv") as upload:
        answer = check_upload(upload, "orders", options=FileOptions())

    assert (answer.outcome, answer.rows) == (CHECKED, 2)
    assert not Order.objects.exists()


def test_a_process_stopped_past_its_time_is_a_500_and_stores_nothing(settings) -> None:
    settings.RETAIN_IMPORT_SECONDS = 0.05  # far less than a Python start: it is killed

    with saved_for_now([ORDERS], name="orders.csv") as upload:
        answer = import_upload(upload, "orders", options=FileOptions(), who=LOADER)

    assert answer.outcome == FAILED
    assert (answer.problem["status"], answer.problem["code"]) == (500, "import_failed")
    assert "took longer than 0.05 seconds and was stopped" in answer.problem["detail"]
    assert not Order.objects.exists()
    run = ImportRun.objects.get(pk=answer.run_id)
    assert run.outcome == ImportOutcome.FAILED and "stopped" in run.detail


def test_a_process_that_dies_without_answering_is_a_500_and_stores_nothing(monkeypatch) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "retain.no_such_settings")  # it cannot start

    with saved_for_now([ORDERS], name="orders.csv") as upload:
        answer = import_upload(upload, "orders", options=FileOptions(), who=LOADER)

    assert answer.outcome == FAILED and answer.problem["status"] == 500
    assert "ended without an answer (exit status 1)" in answer.problem["detail"]
    assert not Order.objects.exists()
    assert ImportRun.objects.get(pk=answer.run_id).outcome == ImportOutcome.FAILED
