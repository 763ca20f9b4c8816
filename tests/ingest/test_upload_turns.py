"""Uploads are imported one at a time per server process: another waits its turn (bounded),
then gets 503 with ``Retry-After`` and nothing is stored; a bad header is refused at once even
while another import runs."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from retain.customers.models import Order
from retain.ingest.upload_turns import TURN
from tests.accounts.builders import make_api_key

pytestmark = pytest.mark.django_db

ORDERS = b"customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-01,10.50\nc2,o2,2026-01-02,3\n"


def upload(key: str, data: bytes = ORDERS):
    return Client().post("/api/v1/imports/orders", {"file": SimpleUploadedFile("o.csv", data)},
                         headers={"Authorization": f"Bearer {key}"})  # fmt: skip


@pytest.fixture
def turn_taken():
    """Another upload is being imported in this process."""
    assert TURN.acquire(timeout=5)
    yield
    if TURN.locked():
        TURN.release()


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
    threading.Timer(0.3, TURN.release).start()  # the other import ends

    response = upload(key)

    assert response.status_code == 200, response.content
    assert Order.objects.count() == 2
    assert not TURN.locked()  # given back after the import
