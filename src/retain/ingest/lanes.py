"""Locks that keep two transactions off one customer's messages while several workers apply
the backlog: PostgreSQL advisory locks, held until the transaction ends. SQLite has one writer
at a time, so there is nothing to lock there.

A lane's job takes its lane's lock without waiting (another worker has it: the job comes back
later); a run over every lane (``retain ingest retry``, an older job) waits for each lane in
order. The anonymous ids a run links or records are locked too, in order, before anything is
applied: an identify linking ``anonymousId`` A to a user (in the user's lane) and a call with
only A (in A's lane) are then applied one after the other, and the second sees the first.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from django.db import connection

#: The first key of the two-key advisory locks, one per kind of thing locked.
_LANE_LOCKS = 0x72650001
_ANONYMOUS_ID_LOCKS = 0x72650002
_STORING_LOCKS = 0x72650003


def lock_lanes(lanes: Iterable[int], *, wait: bool) -> bool:
    """Lock the ``lanes`` (in order) for this transaction; ``False`` when one is held by
    another transaction and ``wait`` is false (nothing is locked then)."""
    if connection.vendor != "postgresql":
        return True
    lanes = sorted(set(lanes))
    with connection.cursor() as cursor:
        if wait:
            for lane in lanes:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LANE_LOCKS, lane])
            return True
        for lane in lanes:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LANE_LOCKS, lane])
            if not cursor.fetchone()[0]:
                return False
    return True


def hold_for_storing(lanes: Iterable[int]) -> None:
    """The door's side of the storing locks: hold ``lanes``' shared, until the transaction
    ends, before looking for their jobs."""
    _lock_each(_STORING_LOCKS, lanes, "pg_advisory_xact_lock_shared")


def wait_for_storing(lanes: Iterable[int]) -> None:
    """A lane's job's side of the storing locks: wait until every call storing in ``lanes``
    has committed (and hold them off until this transaction ends), then look for what is left."""
    _lock_each(_STORING_LOCKS, lanes, "pg_advisory_xact_lock")


def lock_anonymous_ids(values: Iterable[str]) -> None:
    """Lock these anonymous ids for this transaction, waiting for other holders, in one
    statement and in a fixed order (two runs locking overlapping sets cannot deadlock)."""
    keys = {_int4(zlib.crc32(value.encode("utf-8", "surrogatepass"))) for value in values}
    _lock_each(_ANONYMOUS_ID_LOCKS, keys, "pg_advisory_xact_lock")


def _lock_each(kind: int, keys: Iterable[int], function: str) -> None:
    """Take ``kind``'s advisory lock on each of ``keys`` with ``function``, waiting for other
    holders, in one statement and in ascending order (two transactions locking overlapping
    sets cannot deadlock)."""
    keys = sorted(set(keys))
    if not keys or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count({function}(%s, key)) FROM "
            "(SELECT key FROM unnest(%s::int[]) AS key ORDER BY key) AS ordered",
            [kind, keys],
        )


def _int4(value: int) -> int:
    """An unsigned 32-bit hash as PostgreSQL's signed ``integer``."""
    return value - (1 << 32) if value >= 1 << 31 else value
