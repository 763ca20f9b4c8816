"""POST /api/v1/imports/{kind}: a multipart upload, checked whole, counts back as JSON;
problem+json for a bad file, a missing key or a key without the ``import`` scope."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from retain.customers.models import Order
from retain.datasets import make_business
from tests.accounts.builders import make_api_key
from tests.ingest.files import store_snapshot, write_file

pytestmark = pytest.mark.django_db


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
        "unchanged": 0, "customers_created": orders.customer_id.nunique(),
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
