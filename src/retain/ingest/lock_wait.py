"""How long a door's write waits for the store's lock before giving up (then the door answers
503 with ``Retry-After`` and stores nothing: :func:`retain.problems.busy`).

SQLite has one write lock for the whole file, held by the apply job's transaction or an
import's burst; a connection waits ``busy_timeout`` for it. PostgreSQL locks rows and tables,
and waits for them without end unless ``lock_timeout`` says otherwise. Both are set for the
block and set back after it, so the connection goes back to its pool as it came.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.db import DatabaseError, connection


@contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Within the block, a write waits at most ``seconds`` for a lock another transaction
    holds, then fails with an ``OperationalError`` that :func:`retain.problems.is_busy`
    recognises. Enter it before the block's ``transaction.atomic()``: SQLite takes its lock
    when the transaction begins."""
    milliseconds = max(1, round(seconds * 1000))
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # the connection's own wait, to set back
            cursor.execute("PRAGMA busy_timeout")
            (usual,) = cursor.fetchone()
        set_to, set_back = f"PRAGMA busy_timeout = {milliseconds}", f"PRAGMA busy_timeout = {usual}"
    elif connection.vendor == "postgresql":
        set_to, set_back = f"SET lock_timeout = {milliseconds}", "RESET lock_timeout"
    else:  # pragma: no cover (retain runs on SQLite and PostgreSQL)
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(set_to)
    try:
        yield
    finally:
        with suppress(DatabaseError), connection.cursor() as cursor:  # a broken connection
            cursor.execute(set_back)
