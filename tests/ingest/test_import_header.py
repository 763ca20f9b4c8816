"""A file without a column its kind requires is refused from its header, before the rest of
it is read: an upload names the missing column at once (400) and nothing is stored."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from retain.customers.models import Order
from retain.errors import DataError
from retain.ingest.import_header import HEADER_BYTES
from retain.ingest.import_runs import run_import
from retain.io import FileOptions
from tests.accounts.builders import make_api_key

pytestmark = pytest.mark.django_db

ROWS = 200_000  # about 6 MB: far more than the header check may read


class CountedReads(io.BytesIO):
    """An upload that remembers the furthest byte read from it."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data


def orders_csv(header: str) -> bytes:
    columns = header.split(",")
    line = ",".join({"customer_id": "c1", "order_id": "o{n}", "ordered_at": "2026-01-01",
                     "amount": "9.50", "Total": "9.50"}.get(c, "x") for c in columns)  # fmt: skip
    return (
        header + "\n" + "".join(line.replace("{n}", str(n)) + "\n" for n in range(ROWS))
    ).encode()


def test_a_csv_without_a_required_column_is_refused_from_its_first_bytes() -> None:
    upload = CountedReads(orders_csv("customer_id,order_id,ordered_at,channel"))

    with pytest.raises(DataError) as refused:
        run_import("orders", upload, name="orders.csv")

    assert "column 'amount': missing column" in refused.value.message
    assert [p["column"] for p in refused.value.details["problems"]] == ["amount"]
    assert upload.furthest <= HEADER_BYTES < len(upload.getvalue())


def test_a_column_given_under_another_name_is_looked_for_under_that_name() -> None:
    options = FileOptions(amount="Total", delimiter=";")
    data = orders_csv("customer_id,order_id,ordered_at,amount").replace(b",", b";")

    upload = CountedReads(data)
    with pytest.raises(DataError) as refused:
        run_import("orders", upload, name="orders.csv", options=options)
    assert "no column 'Total' (given with --amount)" in refused.value.message
    assert upload.furthest <= HEADER_BYTES

    renamed = data.replace(b";amount\n", b";Total\n", 1)[:2000].rsplit(b"\n", 1)[0] + b"\n"
    result = run_import("orders", io.BytesIO(renamed), name="orders.csv", options=options)
    assert result.created == Order.objects.count() > 0


def test_an_upload_without_a_required_column_is_a_400_naming_it() -> None:
    _, key = make_api_key("import")
    table = pa.table({"customer_id": ["c1"], "order_id": ["o1"], "amount": ["1.00"]})
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    files = {
        "orders.csv": orders_csv("customer_id,order_id,amount"),
        "orders.parquet": parquet.getvalue(),
    }
    for name, data in files.items():
        response = Client().post(
            "/api/v1/imports/orders", {"file": SimpleUploadedFile(name, data)},
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
        assert response.status_code == 400, response.content
        problem = response.json()
        assert [p["column"] for p in problem["problems"]] == ["ordered_at"], name
        assert "ordered_at" in problem["detail"] and problem["header"] == list(table.column_names)
    assert not Order.objects.exists()
