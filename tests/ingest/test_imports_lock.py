"""The tracking door while a bulk import runs: an import holds the store's write lock (SQLite
has one for the whole file) only for its burst of writes, and a tracking call that arrives
during the burst waits for it instead of failing with "database is locked".

The import runs in a thread of its own and is held at two points by events (no timing):
after it has read, checked and staged its rows, then inside its write burst.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from retain.customers import bulk
from retain.customers.models import Order
from retain.ingest.import_runs import run_import
from retain.ingest.models import Message
from tests.ingest.builders import basic_auth, make_track, make_write_key

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = b"customer_id,order_id,ordered_at,amount\n" + b"".join(
    f"c{n % 7},o{n},2026-0{1 + n % 9}-01,{n}.50\n".encode() for n in range(200)
)
WAIT = 30  # seconds an event may take before the test fails (never reached when it passes)


class HeldImport:
    """An orders import in its own thread, held after staging and inside its write burst."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.staged, self.go_on = threading.Event(), threading.Event()
        self.in_burst, self.finish = threading.Event(), threading.Event()
        self.outcome: list[Any] = []
        upsert_sql = bulk._upsert_sql

        def held_after_staging(target: Any, *args: Any) -> str:
            sql = upsert_sql(target, *args)
            if target.model is Order:
                self.staged.set()
                assert self.go_on.wait(WAIT)
            return sql

        monkeypatch.setattr(bulk, "_upsert_sql", held_after_staging)
        self.thread = threading.Thread(target=self._run)

    def _held_in_burst(self, execute: Callable, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if sql.startswith('INSERT INTO "customers_order"') and connection.in_atomic_block:
            self.in_burst.set()
            assert self.finish.wait(WAIT)
        return result

    def _run(self) -> None:
        try:
            with connection.execute_wrapper(self._held_in_burst):
                self.outcome.append(run_import("orders", io.BytesIO(ORDERS), name="orders.csv"))
        except BaseException as error:  # reported by the test, in its own thread
            self.outcome.append(error)
        finally:
            connections.close_all()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldImport]:
    running = HeldImport(monkeypatch)
    running.thread.start()
    yield running
    running.go_on.set()
    running.finish.set()
    running.thread.join(WAIT)


def track(key: str, event: str) -> int:
    call = make_track(event=event)
    call.pop("type")
    response = Client().post("/v1/track", data=call, content_type="application/json",
                             headers={"Authorization": basic_auth(key)})  # fmt: skip
    return response.status_code


def test_a_tracking_call_during_an_import_is_stored_at_once_or_after_the_burst(
    held: HeldImport,
) -> None:
    key = make_write_key()
    assert held.staged.wait(WAIT)
    # Read, checked and staged: the import holds no lock yet, so the call is stored now.
    assert track(key, "During staging") == 200
    assert Message.objects.filter(payload__event="During staging").exists()
    held.go_on.set()
    assert held.in_burst.wait(WAIT)
    answers: list[int] = []
    waiting = threading.Thread(target=lambda: (answers.append(track(key, "During the burst")),
                                               connections.close_all()))  # fmt: skip
    waiting.start()
    held.finish.set()  # the call, waiting for the lock or not, must not fail
    waiting.join(WAIT)
    held.thread.join(WAIT)
    assert answers == [200]
    (result,) = held.outcome
    assert not isinstance(result, BaseException), result
    assert (result.created, result.customers_created) == (200, 7)
    assert Order.objects.count() == 200
    assert Message.objects.filter(payload__event="During the burst").exists()
