"""Bulk imports of the shop's own files: customers, orders, subscriptions, complaints and
survey answers, from CSV or Parquet (a path or an uploaded file).

All of a file is checked before anything is written, with the analytics library's own input
checks (so a file the store accepts is one the analyses accept) plus what the store needs on
top (lengths, two-decimal amounts, keys unique within the file). A bad file raises ONE
:class:`DataError` whose ``details["problems"]`` lists every bad column and rule with the
count of bad rows and an example (``row`` is the data row, 1 for the first one under the
header), and the store is left as it was. A good file is loaded by
:mod:`retain.customers.bulk` inside the atomic block its caller opens (:func:`write_block`),
so importing the same file again changes nothing.

CSV cells are read as text (``007`` stays ``007``); surrounding spaces are dropped and an
empty cell is missing. Timestamps are ISO 8601; one without an offset is taken as UTC, one
with an offset is converted to UTC. An order's ``status`` is kept whatever it is (refunded
and cancelled orders are data too; the analyses leave them out), lower-cased, ``completed``
when empty. Orders, subscriptions, complaints and answers for a customer id the store does
not know create a bare customer (orders often arrive before the customers file); extra
columns of a customers file are kept in ``traits``.

Like every service here it runs in its caller's transaction and opens none: checking
(:func:`check_source`, :func:`check_table`) writes nothing, and :func:`load_checked` runs
inside the block the caller opens with :func:`write_block` (the command, the import's child
process: :mod:`retain.ingest.import_runs`).

This module reads, checks and loads; the rest of an import lives beside it:
:mod:`~retain.ingest.import_header` (the header checked from the first bytes, before the rest
is read),
:mod:`~retain.ingest.import_kinds` (the kinds of file and their columns),
:mod:`~retain.ingest.import_values` (converters from checked Arrow columns to store values)
and :mod:`~retain.ingest.import_checks` (checking a whole file into one error).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@dataclass(frozen=True)
class CheckedImport:
    """A whole file checked and typed for the store, not written yet: its rows by store
    field, and the table they came from (to name a row by its line in a later refusal)."""

    kind: str
    fields: tuple[str, ...]
    rows: list[dict[str, Any]]
    table: pa.Table
    source: str

    @property
    def staged(self) -> bool:
        """Whether its writes are staged first and burst in one short transaction (SQLite:
        :mod:`retain.customers.bulk`, "Staged writes")."""
        return bulk.stages_writes(kind_of(self.kind).upsert, self.fields)


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


_MOVABLE = ("orders", "complaints")  # rows keyed by their own id that name a customer


def check_table(kind_name: str, table: pa.Table, *, source: str = "the file") -> CheckedImport:
    """Check all of ``table`` (see the module docstring); nothing is written.

    Raises
    ------
    DataError
        Listing every problem (``details["problems"]``) with the rows read (``rows``).
    """
    kind_of(kind_name)
    table = located(table)
    values = check_import(kind_name, table, source=source)
    fields = tuple(values)
    rows = [dict(zip(fields, row, strict=True)) for row in zip(*values.values(), strict=True)]
    return CheckedImport(kind=kind_name, fields=fields, rows=rows, table=table, source=source)


def check_source(
    kind_name: str,
    source: str | Path | IO[bytes],
    *,
    name: str | None = None,
    options: FileOptions | None = None,
) -> CheckedImport:
    """Check a CSV or Parquet file (a path, or an open file whose client-side ``name`` tells
    CSV from Parquet and names it in errors): its header first, then all of it."""
    kind_of(kind_name)
    label = str(name or source)
    if isinstance(source, str | Path):
        if Path(source).is_file():
            with Path(source).open("rb") as file:
                check_header(kind_name, file, name=label, options=options)
    else:
        check_header(kind_name, source, name=label, options=options)
    table = read_import(source, name=name, kind=kind_name, options=options)
    return check_table(kind_name, table, source=label)


@contextmanager
def write_block(checked: CheckedImport, *, wait_seconds: float) -> Iterator[None]:
    """The atomic block :func:`load_checked` runs in, for its caller to open (services open
    no transaction of their own): the whole block in one transaction, or on SQLite reads and
    staging first, then the writes in one burst as the block ends. A write waits at most
    ``wait_seconds`` for the store's lock (an apply run's, another import's), then fails as
    busy (503 at an HTTP door), having stored nothing."""
    with waiting_at_most(wait_seconds), bulk.write_phase(staged=checked.staged):
        yield


def load_checked(
    checked: CheckedImport,
    *,
    allow_moves: bool = False,
    allow_moves_as: str = "--allow-moves",
) -> ImportResult:
    """Write a checked file, inside the caller's :func:`write_block`.

    ``allow_moves`` lets an order (or complaint) already stored under one customer id move
    to the one the file gives; without it such a file is refused with the ids (a conflict
    with the store: status 409 at an HTTP door), and the refusal says to give
    ``allow_moves_as`` (the option as the door spells it).
    """
    kind = kind_of(checked.kind)
    options = {"allow_moves": allow_moves} if checked.kind in _MOVABLE else {}
    try:
        counts = kind.upsert(checked.rows, fields=checked.fields, **options)
    except bulk.MovedRows as moved:
        raise _moves_in_file_terms(moved, checked.table, checked.source, allow_moves_as) from None
    except bulk.TakenEmails as taken:
        raise _taken_in_file_terms(taken, checked.table, checked.source) from None
    return ImportResult(
        kind=checked.kind,
        rows=len(checked.rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        customers_created=counts.customers_created,
        refunds_kept=counts.refunds_kept,
    )


def wake_awaited(result: ImportResult) -> None:
    """After an orders file is stored: refunds that came before their order wake up (in the
    caller's transaction, the one that stored the orders)."""
    if result.kind == "orders" and orders_awaited():
        sweep_soon()


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
