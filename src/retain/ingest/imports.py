"""Bulk imports of the shop's own files: customers, orders, subscriptions, complaints and
survey answers, from CSV or Parquet (a path or an uploaded file).

All of a file is checked before anything is written, with the analytics library's own input
checks (so a file the store accepts is one the analyses accept) plus what the store needs on
top (lengths, two-decimal amounts, keys unique within the file). A bad file raises ONE
:class:`DataError` whose ``details["problems"]`` lists every bad column and rule with the
count of bad rows and an example (``row`` is the data row, 1 for the first one under the
header), and the store is left as it was. A good file is loaded in one atomic block (a
savepoint inside the caller's transaction) by :mod:`retain.customers.bulk`, so importing the
same file again changes nothing.

CSV cells are read as text (``007`` stays ``007``); surrounding spaces are dropped and an
empty cell is missing. Timestamps are ISO 8601; one without an offset is taken as UTC, one
with an offset is converted to UTC. An order's ``status`` is kept whatever it is (refunded
and cancelled orders are data too; the analyses leave them out), lower-cased, ``completed``
when empty. Orders, subscriptions, complaints and answers for a customer id the store does
not know create a bare customer (orders often arrive before the customers file); extra
columns of a customers file are kept in ``traits``.

This module reads and loads; the rest of an import lives beside it:
:mod:`~retain.ingest.import_header` (the header checked from the first bytes, before the rest
is read),
:mod:`~retain.ingest.import_kinds` (the kinds of file and their columns),
:mod:`~retain.ingest.import_values` (converters from checked Arrow columns to store values)
and :mod:`~retain.ingest.import_checks` (checking a whole file into one error).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from retain.customers import bulk
from retain.errors import DataError
from retain.ingest.import_checks import check_import, located, place_of
from retain.ingest.import_header import check_header
from retain.ingest.import_kinds import kind_of
from retain.ingest.lock_wait import waiting_at_most
from retain.ingest.waiting import orders_awaited, sweep_soon
from retain.io import LINE, FileOptions, read_file


@dataclass(frozen=True)
class ImportResult:
    """What an import did, counted in rows of its kind (plus bare customers it created)."""

    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    customers_created: int
    #: orders the file states with another status while the store has them refunded: they
    #: stay refunded (docs/store.md, "One order, two doors")
    refunds_kept: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_import(
    source: str | Path | IO[bytes],
    *,
    name: str | None = None,
    kind: str | None = None,
    options: FileOptions | None = None,
) -> pa.Table:
    """A CSV (every cell as text) or Parquet file as Arrow, through the same reader as the
    analyses (:func:`retain.io.read_file`): text trimmed, empty cells missing, each row with
    its line in the file, times with the shop's offset."""
    return read_file(
        source, name=name, kind=kind, options=options, keep_offsets=True, allow_empty=True
    )


#: How long an import's writes wait for the store's lock (an apply run's, another import's)
#: before it fails as busy (503 at the HTTP door), having stored nothing.
IMPORT_WAIT_SECONDS = 30.0
_MOVABLE = ("orders", "complaints")  # rows keyed by their own id that name a customer


def import_table(
    kind_name: str,
    table: pa.Table,
    *,
    source: str = "the file",
    allow_moves: bool = False,
    allow_moves_as: str = "--allow-moves",
) -> ImportResult:
    """Check all of ``table`` and load it in one atomic block; see the module docstring.

    ``allow_moves`` lets an order (or complaint) already stored under one customer id move
    to the one the file gives; without it such a file is refused with the ids (a conflict
    with the store: status 409 at an HTTP door), and the refusal says to give
    ``allow_moves_as`` (the option as the door spells it).
    """
    kind = kind_of(kind_name)
    table = located(table)
    values = check_import(kind_name, table, source=source)
    fields = tuple(values)
    rows = [dict(zip(fields, row, strict=True)) for row in zip(*values.values(), strict=True)]
    options = {"allow_moves": allow_moves} if kind_name in _MOVABLE else {}
    staged = bulk.stages_writes(kind.upsert, fields)
    try:
        # On SQLite the lock is taken for the writes only (bulk: "Staged writes").
        with waiting_at_most(IMPORT_WAIT_SECONDS), bulk.write_phase(staged=staged):
            counts = kind.upsert(rows, fields=fields, **options)
    except bulk.MovedRows as moved:
        raise _moves_in_file_terms(moved, table, source, allow_moves_as) from None
    except bulk.TakenEmails as taken:
        raise _taken_in_file_terms(taken, table, source) from None
    if kind_name == "orders" and orders_awaited():  # refunds that came first wake up
        sweep_soon()
    return ImportResult(
        kind=kind_name,
        rows=len(rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        customers_created=counts.customers_created,
        refunds_kept=counts.refunds_kept,
    )


def _moves_in_file_terms(
    moved: bulk.MovedRows, table: pa.Table, source: str, allow_moves_as: str
) -> DataError:
    where = "line" if LINE in table.column_names else "row"
    shown = "; ".join(
        f'{where} {place_of(table, m.index)}: "{m.key}" is stored under customer '
        f'"{m.stored_customer}", the file gives "{m.given_customer}"'
        for m in moved.moves[:5]
    )
    more = "; ..." if len(moved.moves) > 5 else ""
    return DataError(
        f"{len(moved.moves)} row(s) are already stored under another customer id; "
        f"importing would move them to another customer, so nothing was imported: "
        f"{shown}{more}. If they really changed hands, import with {allow_moves_as}",
        file=source,
        status=409,
        column="customer_id",
        moves=[  # where the row is in the file, not its internal index
            {
                "key": m.key,
                "stored_customer": m.stored_customer,
                "given_customer": m.given_customer,
                where: place_of(table, m.index),
            }
            for m in moved.moves
        ],
    )


def _taken_in_file_terms(taken: bulk.TakenEmails, table: pa.Table, source: str) -> DataError:
    where = "line" if LINE in table.column_names else "row"
    shown = "; ".join(
        f'{where} {place_of(table, t.index)}: "{t.email}" for customer "{t.given_customer}" is '
        f'customer "{t.holder}"\'s current email'
        for t in taken.taken[:5]
    )
    more = "; ..." if len(taken.taken) > 5 else ""
    return DataError(
        f"{len(taken.taken)} email(s) would belong to two customers at once (an address is "
        f"one customer's at a time), so nothing was imported: {shown}{more}. Change or clear "
        f"the holder's email first, in the same file or before it",
        file=source,
        status=409,
        column="email",
        taken=[
            {"email": t.email, "holder": t.holder, "given_customer": t.given_customer,
             where: place_of(table, t.index)}
            for t in taken.taken
        ],
    )  # fmt: skip


def import_file(
    kind_name: str,
    path: str | Path,
    *,
    options: FileOptions | None = None,
    allow_moves: bool = False,
) -> ImportResult:
    """Import a CSV or Parquet file (by its suffix), read with ``options``."""
    kind_of(kind_name)
    if Path(path).is_file():
        with Path(path).open("rb") as file:
            check_header(kind_name, file, name=str(path), options=options)
    table = read_import(path, kind=kind_name, options=options)
    return import_table(kind_name, table, source=str(path), allow_moves=allow_moves)


def import_upload(
    kind_name: str,
    upload: IO[bytes],
    *,
    name: str,
    options: FileOptions | None = None,
    allow_moves: bool = False,
    turn: AbstractContextManager[Any] | None = None,
) -> ImportResult:
    """Import an uploaded file; ``name`` (the client's file name) tells CSV from Parquet.
    Its header is checked first; reading and loading run within ``turn`` (the server's
    :func:`~retain.ingest.upload_turns.upload_turn`: one upload imported at a time)."""
    kind_of(kind_name)
    check_header(kind_name, upload, name=name, options=options)
    with turn or nullcontext():
        table = read_import(upload, name=name, kind=kind_name, options=options)
        return import_table(
            kind_name, table, source=name, allow_moves=allow_moves,
            allow_moves_as="allow_moves=true",
        )  # fmt: skip
