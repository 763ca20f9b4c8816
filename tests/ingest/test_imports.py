"""Imports from real CSV and Parquet files: every kind loads, a second import changes
nothing, a bad file is refused whole with every problem listed and the store untouched."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from retain.customers.models import Complaint, Customer, Order, Subscription, SurveyAnswer
from retain.datasets import make_business
from retain.errors import DataError, NotFound
from retain.ingest.import_runs import import_file
from tests.customers.builders import make_customer, make_order
from tests.ingest.files import TABLES, store_snapshot, write_file

pytestmark = pytest.mark.django_db
FORMATS = ["csv", "parquet"]
MODELS = {
    "customers": Customer,
    "orders": Order,
    "subscriptions": Subscription,
    "complaints": Complaint,
    "survey-answers": SurveyAnswer,
}


@pytest.fixture(scope="module")
def business():
    return make_business(80, seed=5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_orders_load_with_every_status_exact_amounts_and_utc_times(business, tmp_path, fmt):
    orders, n = business.orders, len(business.orders)
    result = import_file("orders", write_file(orders, tmp_path, "orders", fmt))

    assert (result.rows, result.created, result.updated, result.unchanged) == (n, n, 0, 0)
    assert result.customers_created == orders.customer_id.nunique() == Customer.objects.count()
    statuses = dict(Order.objects.values_list("external_id", "status"))
    assert {statuses[str(i)] for i in orders.order_id} == set(orders.status)
    assert "refunded" in statuses.values()
    first = orders.iloc[0]
    stored = Order.objects.get(external_id=str(first.order_id))
    assert stored.amount == Decimal(f"{first.amount:.2f}")
    assert stored.ordered_at == first.ordered_at.to_pydatetime().replace(tzinfo=dt.UTC)
    assert stored.customer.external_id == str(first.customer_id)
    total = sum(Order.objects.values_list("amount", flat=True), Decimal(0))
    assert total == sum(Decimal(f"{amount:.2f}") for amount in orders.amount)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(TABLES))
def test_importing_the_same_file_twice_changes_nothing(business, tmp_path, kind, fmt):
    frame = getattr(business, TABLES[kind])
    path = write_file(frame, tmp_path, kind, fmt)
    first = import_file(kind, path)
    before = store_snapshot()

    again = import_file(kind, path)

    assert first.created == len(frame) == MODELS[kind].objects.count()
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(frame))
    assert again.customers_created == 0
    assert store_snapshot() == before  # every value, Customer.updated_at included


def test_a_changed_row_is_the_only_one_written(business, tmp_path):
    orders = business.orders.copy()
    import_file("orders", write_file(orders, tmp_path, "orders", "csv"))
    orders.loc[3, "amount"] = 1234.5
    orders.loc[5, "status"] = "refunded" if orders.loc[5, "status"] != "refunded" else "completed"

    result = import_file("orders", write_file(orders, tmp_path, "changed", "csv"))

    assert (result.created, result.updated, result.unchanged) == (0, 2, len(orders) - 2)
    changed = Order.objects.get(external_id=str(orders.loc[3, "order_id"]))
    assert changed.amount == Decimal("1234.50")


def test_the_customers_file_fills_in_the_bare_customers_orders_created(business, tmp_path):
    import_file("orders", write_file(business.orders, tmp_path, "orders", "csv"))
    bare = Customer.objects.get(external_id=str(business.customers.customer_id[0]))
    assert bare.signed_up_at is None

    result = import_file("customers", write_file(business.customers, tmp_path, "customers", "csv"))

    assert result.updated == Customer.objects.count() == len(business.customers)
    bare.refresh_from_db()
    signed_up_at = business.customers.signed_up_at[0].to_pydatetime()
    assert bare.signed_up_at == signed_up_at.replace(tzinfo=dt.UTC)
    assert bare.acquisition_channel == business.customers.acquisition_channel[0]


def test_ids_keep_leading_zeros_and_offsets_become_utc(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["007", "007"],
            "order_id": ["0001", "0002"],
            "ordered_at": ["2024-03-01T10:00:00+02:00", "2024-03-01 10:00"],
            "amount": ["19.99", " 5 "],
            "status": ["Cancelled", ""],
        }
    )
    import_file("orders", write_file(frame, tmp_path, "orders", "csv"))

    first, second = Order.objects.order_by("external_id")
    assert first.customer.external_id == "007" and first.external_id == "0001"
    assert first.ordered_at == dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)
    assert second.ordered_at == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    assert (first.amount, second.amount) == (Decimal("19.99"), Decimal("5.00"))
    assert (first.status, second.status) == ("cancelled", "completed")


def test_extra_customer_columns_are_kept_as_traits_and_merged(tmp_path):
    make_customer(external_id="a1", traits={"tier": "gold", "city": "Oslo"})
    frame = pd.DataFrame(
        {"customer_id": ["a1"], "signed_up_at": ["2024-01-01"], "email": ["a@example.com"],
         "city": ["Bergen"]}
    )  # fmt: skip
    result = import_file("customers", write_file(frame, tmp_path, "customers", "csv"))

    assert result.updated == 1
    customer = Customer.objects.get(external_id="a1")
    assert customer.traits == {"tier": "gold", "city": "Bergen"}
    assert customer.email == "a@example.com"


def test_a_bad_orders_file_lists_every_problem_and_stores_nothing(business, tmp_path):
    make_order(external_id=str(business.orders.order_id[0]), amount=Decimal("1.00"))
    before = store_snapshot()
    orders = business.orders.astype({"amount": object, "ordered_at": object})
    orders.loc[[2, 7], "amount"] = "-3.50"
    orders.loc[4, "ordered_at"] = "yesterday"
    orders.loc[[1, 5, 9], "customer_id"] = None
    orders.loc[6, "amount"] = "1.234"
    orders.loc[8, "currency"] = "EURO"
    path = write_file(orders, tmp_path, "orders", "csv")

    with pytest.raises(DataError) as raised:
        import_file("orders", path)

    problems = {(p["column"], p["bad_rows"]) for p in raised.value.details["problems"]}
    assert problems == {("customer_id", 3), ("ordered_at", 1), ("amount", 2), ("currency", 1)}
    by_column = {p["column"]: p for p in raised.value.details["problems"]}
    example = by_column["ordered_at"]["example"]
    cells = path.read_text().splitlines()[5].split(",")  # line 6 of the file
    at = list(orders.columns).index
    assert example == {"line": 6, "customer_id": cells[at("customer_id")],
                       "order_id": cells[at("order_id")], "ordered_at": "yesterday"}  # fmt: skip
    assert f'line 6: customer_id "{example["customer_id"]}"' in str(raised.value)
    assert "nothing was imported" in str(raised.value) and "'currency'" in str(raised.value)
    assert store_snapshot() == before


def test_after_the_library_rules_the_store_rules_are_checked(business, tmp_path):
    orders = business.orders.copy()
    orders.loc[6, "amount"] = 1.234
    orders.loc[7, "channel"] = "x" * 101

    with pytest.raises(DataError) as raised:
        import_file("orders", write_file(orders, tmp_path, "orders", "parquet"))

    rules = {p["rule"]: p["bad_rows"] for p in raised.value.details["problems"]}
    assert rules == {"has more than 2 decimal places": 1, "longer than 100 characters": 1}
    assert Order.objects.count() == 0


def test_missing_columns_are_all_named(tmp_path):
    frame = pd.DataFrame({"customer_id": ["1"], "amount": ["2.00"]})
    with pytest.raises(DataError) as raised:
        import_file("orders", write_file(frame, tmp_path, "orders", "csv"))
    problems = raised.value.details["problems"]
    missing = {p["column"] for p in problems if p["rule"] == "missing column"}
    assert missing == {"order_id", "ordered_at"}


def test_subscriptions_are_checked_here(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["1", "1", "2", None, "3"],
            "plan": ["basic", "basic", "plus", "pro", None],
            "started_at": ["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01", "2024-02-01"],
            "ended_at": [None, "2024-03-01", "2024-01-15", None, None],
            "mrr": ["9", "9", "-19", "49", "9"],
        }
    )
    with pytest.raises(DataError) as raised:
        import_file("subscriptions", write_file(frame, tmp_path, "subscriptions", "csv"))
    found = {(p["column"], p["rule"], p["bad_rows"]) for p in raised.value.details["problems"]}
    assert found == {
        ("customer_id", "is missing", 1),
        ("plan", "is missing", 1),
        ("mrr", "is negative", 1),
        ("ended_at", "ended before it started", 1),
        (
            "started_at",
            "1 (customer, plan, started_at) appear(s) more than once, on 2 rows; "
            "each must be on one row",
            2,
        ),
    }
    assert Subscription.objects.count() == 0


def test_bad_complaints_and_answers_are_refused_by_the_library_checks(business, tmp_path):
    complaints = business.complaints.copy()
    complaints.loc[0, "severity"] = 9
    complaints.loc[1, "complaint_id"] = complaints.loc[2, "complaint_id"]
    with pytest.raises(DataError) as raised:
        import_file("complaints", write_file(complaints, tmp_path, "complaints", "parquet"))
    assert {p["column"] for p in raised.value.details["problems"]} == {"severity", "complaint_id"}

    answers = business.survey_answers.copy()
    answers.loc[answers.survey == "nps", "score"] = 11
    with pytest.raises(DataError) as raised:
        import_file("survey-answers", write_file(answers, tmp_path, "answers", "csv"))
    (problem,) = raised.value.details["problems"]
    assert problem["column"] == "score" and problem["bad_rows"] == (answers.survey == "nps").sum()
    assert Customer.objects.count() == 0


def test_unknown_kinds_and_file_types_are_refused(tmp_path):
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"")
    with pytest.raises(NotFound, match="unknown import kind 'refunds'"):
        import_file("refunds", path)
    with pytest.raises(DataError, match=r"use \.csv or \.parquet"):
        import_file("orders", path)


def test_a_header_only_file_imports_nothing_and_a_ragged_one_is_refused(tmp_path):
    empty = tmp_path / "orders.csv"
    empty.write_text("customer_id,order_id,ordered_at,amount\n")
    result = import_file("orders", empty)
    assert (result.rows, result.created, result.customers_created) == (0, 0, 0)

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("customer_id,order_id,ordered_at,amount\n1,2,2024-01-01,3.00,extra\n")
    with pytest.raises(DataError, match="could not be read as csv"):
        import_file("orders", ragged)
    assert Order.objects.count() == 0


def test_a_customers_file_giving_one_email_to_two_customers_names_the_lines(tmp_path):
    make_customer(external_id="a", email="x@example.com")
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email\nb,x@example.com\na,y@example.com\nc,z@example.com\n"
                    "d,Z@example.com\n")  # fmt: skip
    before = store_snapshot()

    with pytest.raises(DataError) as refused:
        import_file("customers", path)

    assert refused.value.details["status"] == 409 and refused.value.details["column"] == "email"
    assert [(t["line"], t["email"], t["holder"]) for t in refused.value.details["taken"]] == [
        (5, "Z@example.com", "c")]  # fmt: skip
    assert 'line 5: "Z@example.com" for customer "d"' in str(refused.value)
    assert store_snapshot() == before
