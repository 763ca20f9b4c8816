"""A write that cannot get the store's lock in time is a 503 with ``Retry-After`` that stores
nothing, never a 500: the tracking door and the import upload, while another connection holds
the lock (SQLite: the file's write lock; PostgreSQL: the tables the call writes)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client

from retain.customers.models import Customer, Order
from retain.ingest import tracking
from retain.ingest.models import Message
from retain.problems import BUSY_RETRY_AFTER, is_busy
from tests.accounts.builders import make_api_key
from tests.ingest.builders import basic_auth, make_track, make_write_key

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 0.3  # seconds the door waits for the lock in these tests
MORE_ORDERS = b"customer_id,order_id,ordered_at,amount\nc3,o3,2026-01-03,7\n"
ORDERS = b"customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-01,10.50\nc2,o2,2026-01-02,3\n"


@contextmanager
def lock_held(*tables: str) -> Iterator[None]:
    """Another connection holds the write lock of the store (SQLite) or of ``tables``."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(settings["NAME"], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None,
        port=settings["PORT"] or None, password=settings["PASSWORD"] or None,
    ) as holder:  # fmt: skip
        holder.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


def track(key: str, event: str):
    call = make_track(event=event)
    call.pop("type")
    return Client().post("/v1/track", data=json.dumps(call), content_type="application/json",
                         headers={"Authorization": basic_auth(key)})  # fmt: skip


def assert_busy(response, started: float, *, within: float = 5) -> dict:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == str(BUSY_RETRY_AFTER)
    assert time.monotonic() - started < within  # the configured wait, not SQLite's 10 s
    problem = response.json()
    assert problem["code"] == "store_busy" and "nothing was stored" in problem["detail"]
    return problem


def test_a_tracking_call_the_store_is_too_busy_for_is_a_503_that_stores_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracking, "DOOR_WAIT_SECONDS", WAIT)
    key = make_write_key()
    assert track(key, "Before").status_code == 200

    with lock_held("ingest_message"):
        started = time.monotonic()
        problem = assert_busy(track(key, "While locked"), started)

    assert problem["success"] is False and problem["message"] == problem["detail"]  # Segment's
    assert not Message.objects.filter(payload__event="While locked").exists()
    assert track(key, "After").status_code == 200  # the client's retry goes through
    assert Message.objects.count() == 2


def test_an_import_the_store_is_too_busy_for_is_a_503_that_stores_nothing(settings) -> None:
    settings.RETAIN_IMPORT_WAIT_SECONDS = WAIT  # the import's process is told the server's
    _, key = make_api_key("import")

    def upload(data: bytes):
        return Client().post("/api/v1/imports/orders", {"file": _named(data, "orders.csv")},
                             headers={"Authorization": f"Bearer {key}"})  # fmt: skip

    assert upload(ORDERS).status_code == 200  # (the key's last use is written now)
    with lock_held("customers_customer", "customers_order"):
        started = time.monotonic()
        # the wait, plus the start of the import's own process on PostgreSQL (its history row
        # is written first, the wait comes at its orders; on SQLite that row already waits)
        assert_busy(upload(MORE_ORDERS), started, within=20)

    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["o1", "o2"]
    assert not Customer.objects.filter(external_id="c3").exists()
    assert upload(MORE_ORDERS).status_code == 200  # the client's retry goes through
    assert Order.objects.count() == 3


def test_only_a_lock_not_obtained_counts_as_busy() -> None:
    assert is_busy(OperationalError("database is locked"))
    assert not is_busy(OperationalError("no such table: ingest_message"))
    assert not is_busy(ValueError("database is locked"))


def _named(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")
