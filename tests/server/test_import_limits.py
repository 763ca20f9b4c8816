"""``POST /api/v1/imports/{kind}`` has an upload limit (413 before the file is read) and a
Parquet file that would expand beyond the stated size is refused from its footer, before it
is materialised (a real ``retain serve`` with small limits)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from retain.customers.models import Order
from retain.server.background import background_server
from tests.accounts.builders import make_api_key
from tests.server.wire import connect, read_answer, send_head
from tests.store import child_environment

pytestmark = pytest.mark.django_db(transaction=True)
LIMITS = {"RETAIN_UPLOAD_LIMIT_MB": "1", "RETAIN_IMPORT_EXPANDED_MB": "2",
          "RETAIN_IMPORT_ROW_LIMIT": "300000"}  # fmt: skip


def _repeated_orders(rows: int) -> pa.Table:
    """``rows`` orders of one customer: a few kilobytes of Parquet, megabytes uncompressed."""
    return pa.table({
        "customer_id": pa.array(["c-1"] * rows),
        "order_id": pa.array([f"o-{number:09d}" for number in range(rows)]),
        "ordered_at": pa.array(["2026-01-02T10:00:00"] * rows),
        "amount": pa.array([12.5] * rows),
    })  # fmt: skip


def _upload(base: str, file, key: str) -> requests.Response:
    return requests.post(f"{base}/api/v1/imports/orders", files={"file": file},
                         headers={"Authorization": f"Bearer {key}"}, timeout=60)  # fmt: skip


def test_an_upload_announced_over_the_limit_is_refused_before_it_is_read() -> None:
    _, key = make_api_key("import")
    with (
        background_server(environment=child_environment(**LIMITS)) as base,
        connect(base, timeout=10) as sock,
    ):
        send_head(sock, "/api/v1/imports/orders", {
            "Authorization": f"Bearer {key}", "Content-Length": str(50 * 1024 * 1024),
            "Content-Type": "multipart/form-data; boundary=x"})  # fmt: skip
        answer = read_answer(sock)  # not one byte of the 50 MB was sent
    problem = answer.problem()
    assert (answer.status, problem["field"]) == (413, "(body)")
    assert problem["detail"] == "the body is larger than 1 MB (the limit for an import upload)"


def test_a_parquet_file_that_would_expand_beyond_the_limit_is_refused(tmp_path) -> None:
    _, key = make_api_key("import")
    path = tmp_path / "orders.parquet"
    pq.write_table(_repeated_orders(250_000), path, compression="zstd")
    assert path.stat().st_size < 1024 * 1024  # under the upload limit
    with (
        background_server(environment=child_environment(**LIMITS)) as base,
        path.open("rb") as file,
    ):
        response = _upload(base, file, key)
    assert response.status_code == 413, response.text
    problem = response.json()
    expanded = pq.ParquetFile(path).metadata.row_group(0).total_byte_size
    assert expanded > 2 * 1024 * 1024
    assert problem["detail"] == (
        f"orders.parquet: the Parquet file holds {expanded / 2**20:,.1f} MB uncompressed; "
        "the limit is 2.0 MB"
    )
    assert not Order.objects.exists()


def test_a_parquet_file_with_more_rows_than_the_limit_is_refused(tmp_path) -> None:
    _, key = make_api_key("import")
    path = tmp_path / "orders.parquet"
    pq.write_table(_repeated_orders(301_000).select(["customer_id"]), path)
    with (
        background_server(environment=child_environment(**LIMITS)) as base,
        path.open("rb") as file,
    ):
        response = _upload(base, file, key)
    assert response.status_code == 413, response.text
    assert response.json()["detail"] == (
        "orders.parquet: the Parquet file holds 301,000 rows; the limit is 300,000"
    )
