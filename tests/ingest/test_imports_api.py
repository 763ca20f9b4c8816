"""POST /api/v1/imports/{kind}: a multipart upload, checked whole, counts back as JSON;
problem+json for a bad file, a missing key or a key without the ``import`` scope."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client

from retain.customers.models import Order
from retain.datasets import make_business
from tests.accounts.builders import make_api_key
from tests.customers.builders import make_customer, make_order
from tests.ingest.files import store_snapshot, write_file

pytestmark = pytest.mark.django_db(transaction=True)  # the import runs in a process of its own


@pytest.fixture(scope="module")
def orders():
    return make_business(30, seed=2).orders


def upload(path, *, key: str | None, kind: str = "orders"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with path.open("rb") as file:
        return Client().post(f"/api/v1/imports/{kind}", {"file": file}, headers=headers)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_import_key_uploads_a_file_and_gets_the_counts(orders, tmp_path, fmt):
    _, key = make_api_key("import")
    path = write_file(orders, tmp_path, "orders", fmt)

    first, again = upload(path, key=key), upload(path, key=key)

    assert first.status_code == 200, first.content
    assert first.json() == {
        "kind": "orders", "rows": len(orders), "created": len(orders), "updated": 0,
        "unchanged": 0, "customers_created": orders.customer_id.nunique(), "refunds_kept": 0,
    }  # fmt: skip
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)
    assert Order.objects.count() == len(orders)


def test_a_bad_file_is_a_problem_listing_every_bad_column(orders, tmp_path):
    _, key = make_api_key("import")
    bad = orders.astype({"amount": object, "ordered_at": object})
    bad.loc[0, "amount"] = "lots"
    bad.loc[[1, 2], "ordered_at"] = "soon"
    before = store_snapshot()

    response = upload(write_file(bad, tmp_path, "orders", "csv"), key=key)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == "data_error"
    found = {(p["column"], p["bad_rows"]) for p in body["problems"]}
    assert found == {("amount", 1), ("ordered_at", 2)}
    assert store_snapshot() == before


@pytest.mark.parametrize(("scopes", "status"), [((), 401), (("read", "track"), 403)])
def test_without_the_import_scope_nothing_is_imported(orders, tmp_path, scopes, status):
    key = make_api_key(*scopes)[1] if scopes else None

    response = upload(write_file(orders, tmp_path, "orders", "csv"), key=key)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert Order.objects.count() == 0


def test_an_unknown_kind_or_file_type_is_refused(orders, tmp_path):
    _, key = make_api_key("import")
    path = write_file(orders, tmp_path, "orders", "csv")
    assert upload(path, key=key, kind="refunds").status_code == 404
    text = tmp_path / "orders.txt"
    text.write_text("customer_id\n1\n")
    response = upload(text, key=key)
    assert response.status_code == 400 and "use .csv or .parquet" in response.json()["detail"]


# -- how to read the file: the CLI's options as query parameters --------------------------

SEMICOLONS = (
    "customer_id;order_id;ordered_at;amount\r\n"
    "007;A/1;05/03/2024;1.234,50\r\n"
    "7;A/2;13/03/2024;12,00\r\n"
)
SHOP_QUERY = {"delimiter": ";", "decimal": ",", "thousands": ".", "day_first": "true"}


def post(path, *, key: str, query: dict[str, str], kind: str = "orders"):
    with path.open("rb") as file:
        return Client().post(
            f"/api/v1/imports/{kind}?{urlencode(query)}",
            {"file": file},
            headers={"Authorization": f"Bearer {key}"},
        )


def test_a_semicolon_file_with_decimal_commas_and_day_first_dates_imports_with_the_options(
    tmp_path,
):
    _, key = make_api_key("import")
    path = tmp_path / "export.csv"
    path.write_text(SEMICOLONS)

    response = post(path, key=key, query=SHOP_QUERY)

    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["customers_created"]) == (2, 2)
    stored = {
        o.external_id: (o.customer.external_id, o.amount, o.ordered_at)
        for o in Order.objects.select_related("customer")
    }
    assert stored == {
        "A/1": ("007", Decimal("1234.50"), dt.datetime(2024, 3, 5, tzinfo=dt.UTC)),
        "A/2": ("7", Decimal("12.00"), dt.datetime(2024, 3, 13, tzinfo=dt.UTC)),
    }


def test_the_same_file_without_the_options_is_refused_naming_column_line_and_value(tmp_path):
    _, key = make_api_key("import")
    path = tmp_path / "export.csv"
    path.write_text(SEMICOLONS)
    before = store_snapshot()

    response = post(path, key=key, query={"delimiter": ";", "day_first": "true"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["column"] == "amount"
    assert 'line 2: customer_id "007", order_id "A/1", amount "1.234,50"' in body["detail"]
    assert store_snapshot() == before


@pytest.mark.parametrize(
    ("query", "parameter", "detail"),
    [
        ({"decimal": ";"}, "decimal", "decimal: the decimal mark must be '.' or ',', got ';'"),
        (
            {"timezone": "Mars/Olympus"},
            "timezone",
            "timezone: unknown time zone 'Mars/Olympus'; use a name such as Europe/Berlin or UTC",
        ),
        (
            {"decimal": ",", "thousands": ","},
            "thousands",
            "thousands: the thousands separator must be one of , . ' _ or a space, and not "
            "the decimal mark; got ','",
        ),
        (
            {"day_first": "true", "month_first": "true"},
            "month_first",
            "month_first: day-first and month-first exclude each other",
        ),
        (
            {"date_format": "%d.%m.%Y", "day_first": "true"},
            "day_first",
            "day_first: give a date format or day-first/month-first, not both",
        ),
    ],
)
def test_a_bad_option_is_a_400_naming_the_parameter(orders, tmp_path, query, parameter, detail):
    _, key = make_api_key("import")

    response = post(write_file(orders, tmp_path, "orders", "csv"), key=key, query=query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert (body["parameter"], body["detail"]) == (parameter, detail)
    assert Order.objects.count() == 0


def test_a_parameter_of_the_wrong_type_is_a_422_naming_it(orders, tmp_path):
    _, key = make_api_key("import")

    response = post(
        write_file(orders, tmp_path, "orders", "csv"), key=key, query={"allow_moves": "maybe"}
    )

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    (error,) = json.loads(response.content)["errors"]
    assert error["loc"][-1] == "allow_moves"
    assert Order.objects.count() == 0


def test_a_moved_order_is_a_409_with_the_ids_and_moves_with_allow_moves(tmp_path):
    _, key = make_api_key("import")
    kept = make_order(customer=make_customer(external_id="007"), external_id="A-1")
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_id,ordered_at,amount\n7,A-1,2024-01-05,10\n")
    before = store_snapshot()

    refused = post(path, key=key, query={})

    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    body = json.loads(refused.content)
    assert 'line 2: "A-1" is stored under customer "007", the file gives "7"' in body["detail"]
    assert body["detail"].endswith("If they really changed hands, import with allow_moves=true")
    assert body["moves"] == [
        {"key": "A-1", "stored_customer": "007", "given_customer": "7", "line": 2}
    ]
    assert store_snapshot() == before

    allowed = post(path, key=key, query={"allow_moves": "true"})

    assert allowed.status_code == 200, allowed.content
    assert (allowed.json()["updated"], allowed.json()["customers_created"]) == (1, 1)
    kept.refresh_from_db()
    assert kept.customer.external_id == "7"


def test_the_openapi_document_lists_every_option_with_its_meaning():
    document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/imports/{kind}"]["post"]
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(query) == {
        "customer_id", "order_id", "ordered_at", "amount", "status", "delimiter", "decimal",
        "thousands", "date_format", "day_first", "month_first", "timezone", "allow_moves",
    }  # fmt: skip
    assert query["decimal"]["description"] == "the decimal mark, . or , (default .)"
    assert query["ordered_at"]["description"] == (
        "the file's column for when the order was placed (default ordered_at)"
    )
    assert query["allow_moves"]["schema"]["type"] == "boolean"


def test_the_counts_say_how_many_orders_stay_refunded(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_id,ordered_at,amount,status\nc-1,o-1,2026-01-05,10,\n")
    _, key = make_api_key("import")
    assert upload(path, key=key).status_code == 200
    Order.objects.filter(external_id="o-1").update(status="refunded")  # as a tracked refund

    again = upload(path, key=key)

    assert again.status_code == 200, again.content
    assert (again.json()["unchanged"], again.json()["refunds_kept"]) == (1, 1)
    assert Order.objects.get(external_id="o-1").status == "refunded"
