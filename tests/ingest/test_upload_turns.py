"""Uploads are imported one at a time per workspace: another waits its turn (bounded), then
gets 503 with ``Retry-After`` and nothing is stored; a bad header is refused at once even
while another import runs. The turn is a lock on a file, so another process (another server
worker) holding it counts too: here another open file of this process holds it."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from retain.customers.models import Order
from retain.ingest.upload_turns import turn_file
from tests.accounts.builders import make_api_key

pytestmark = pytest.mark.django_db(transaction=True)  # the import's process reads it

ORDERS = b"customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-01,10.50\nc2,o2,2026-01-02,3\n"


def upload(key: str, data: bytes = ORDERS):
    return Client().post("/api/v1/imports/orders", {"file": SimpleUploadedFile("o.csv", data)},
                         headers={"Authorization": f"Bearer {key}"})  # fmt: skip


class Turn:
    """The workspace's turn, held as another upload's import holds it."""

    def __init__(self) -> None:
        self.descriptor: int | None = os.open(turn_file(), os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


def is_free() -> bool:
    descriptor = os.open(turn_file(), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


@pytest.fixture
def turn_taken():
    """Another upload is being imported in this workspace."""
    turn = Turn()
    yield turn
    turn.release()


def test_an_upload_while_another_is_imported_past_the_wait_is_a_503(turn_taken, settings):
    settings.RETAIN_IMPORT_QUEUE_SECONDS = 0.2
    _, key = make_api_key("import")

    response = upload(key)

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "imports_busy"
    assert not Order.objects.exists()
    bad = upload(key, b"customer_id,order_id,amount\nc1,o1,3\n")  # no wait for a bad header
    assert bad.status_code == 400 and "ordered_at" in bad.json()["detail"]


def test_an_upload_waits_its_turn_and_is_imported_when_it_comes(turn_taken, settings):
    settings.RETAIN_IMPORT_QUEUE_SECONDS = 30
    _, key = make_api_key("import")
    threading.Timer(0.3, turn_taken.release).start()  # the other import ends

    response = upload(key)

    assert response.status_code == 200, response.content
    assert Order.objects.count() == 2
    assert is_free()  # given back after the import
