"""A door's shorter wait for the store's lock holds for its block only: the connection goes
back to its pool waiting as long as it did before."""

from __future__ import annotations

import pytest
from django.db import connection

from retain.ingest.lock_wait import waiting_at_most


def lock_wait() -> str:
    """The connection's wait for a lock, as the engine reports it."""
    query = "PRAGMA busy_timeout" if connection.vendor == "sqlite" else "SHOW lock_timeout"
    with connection.cursor() as cursor:
        cursor.execute(query)
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_wait_is_shorter_within_the_block_and_set_back_after_it() -> None:
    before = lock_wait()
    with waiting_at_most(0.25):
        assert lock_wait() == ("250" if connection.vendor == "sqlite" else "250ms")
    assert lock_wait() == before
