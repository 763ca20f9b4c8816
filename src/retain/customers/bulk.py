"""Bulk upserts into the customers tables, keyed by the shop's own ids (used by imports).

Every ``upsert_*`` takes rows that were already checked and typed (timestamps timezone-aware,
amounts :class:`~decimal.Decimal` with two places) and runs inside the caller's transaction.
Rows are compared with what is stored first, so only new rows are inserted and only rows
whose values differ are written: importing the same rows twice changes nothing, not even a
customer's ``updated_at``.

Keys: ``Customer.external_id``, ``Order.external_id``, ``Complaint.external_id``;
subscriptions by ``(customer, plan, started_at)``, survey answers by
``(customer, survey, answered_at)``. Orders, subscriptions, complaints and answers name
their customer by the shop's customer id (``customer``); an id the store does not know yet
gets a bare customer (only ``external_id``), filled in when the customers file arrives.

``fields`` names the columns the input carries: the others are left as stored (or at their
defaults for new rows), so an orders file without ``channel`` does not blank it.

An order or complaint already stored under one customer and given again under another is
not moved silently: :class:`MovedRows` is raised (nothing written) unless the caller passes
``allow_moves=True``.

Emails follow the rule of the tracking door (:func:`retain.customers.services.change_email`):
an address (in any case) is at most one customer's current email. A customers file may move
an address between customers (``a`` leaves ``x@example.com``, ``b`` takes it, in the same
file or after ``a``'s stored email changed); each customer whose email changes keeps the old
one as a ``customer.email_changed`` domain event (``source``: ``import``), and the email
identities follow the current addresses. A file that gives one address to two customers, or
an address that a customer outside the file holds now, raises :class:`TakenEmails` (nothing
written).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Field, Model, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from retain.customers.models import (
    Complaint,
    Customer,
    DomainEvent,
    Identity,
    IdentityKind,
    Order,
    Subscription,
    SurveyAnswer,
)
from retain.customers.services import EMAIL_CHANGED, ORDER_REFUNDED
from retain.errors import DataError

Row = dict[str, Any]


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: rows inserted, rows changed, rows already as given, bare
    customers created for unknown customer ids, and stored refunds the input stated
    otherwise (kept: a refund is never undone)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0
    refunds_kept: int = 0


@dataclass(frozen=True)
class Move:
    """A stored row that the input gives under another customer: ``index`` in the input."""

    index: int
    key: str
    stored_customer: str
    given_customer: str


class MovedRows(DataError):
    """Rows the input would move from one customer to another (see the module docstring)."""

    def __init__(self, noun: str, moves: list[Move]) -> None:
        self.moves = moves
        shown = "; ".join(
            f'{noun} "{m.key}" is stored under customer "{m.stored_customer}", the input '
            f'gives "{m.given_customer}"'
            for m in moves[:5]
        )
        super().__init__(
            f"{len(moves)} {noun}(s) already stored under another customer id; importing would "
            f"move them, so nothing was imported: {shown}{'; ...' if len(moves) > 5 else ''}. "
            f"If they really changed hands, allow it explicitly (retain import --allow-moves)",
            column="customer_id",
            moves=[m.__dict__ for m in moves],
        )


@dataclass(frozen=True)
class _Target:
    model: type[Model]
    key: tuple[str, ...]  # attnames, the unique constraint the upsert is keyed by
    touched: tuple[str, ...] = ()  # written on every insert or update (auto_now fields)
    #: (field, value): once stored, that value is kept whatever the input says (a refund)
    final: tuple[tuple[str, str], ...] = ()


_CUSTOMERS = _Target(Customer, ("external_id",), touched=("updated_at",))
_ORDERS = _Target(Order, ("external_id",), final=(("status", ORDER_REFUNDED),))
_COMPLAINTS = _Target(Complaint, ("external_id",))
_SUBSCRIPTIONS = _Target(Subscription, ("customer_id", "plan", "started_at"))
_ANSWERS = _Target(SurveyAnswer, ("customer_id", "survey", "answered_at"))


@dataclass(frozen=True)
class TakenEmail:
    """An address the input gives customer ``given_customer`` (row ``index``) while
    ``holder`` holds it: another row of the input, or a stored customer outside it."""

    index: int
    email: str
    holder: str
    given_customer: str


class TakenEmails(DataError):
    """Addresses the input would give to two customers at once (see the module docstring)."""

    def __init__(self, taken: list[TakenEmail]) -> None:
        self.taken = taken
        shown = "; ".join(
            f'"{t.email}" is given to customer "{t.given_customer}" but is the current email '
            f'of customer "{t.holder}"'
            for t in taken[:5]
        )
        super().__init__(
            f"{len(taken)} email(s) would belong to two customers at once, so nothing was "
            f"imported: {shown}{'; ...' if len(taken) > 5 else ''}. Change or clear the "
            f"holder's email first (in the same file or before it)",
            column="email",
            taken=[t.__dict__ for t in taken],
        )


def upsert_customers(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update customers by ``external_id``; ``traits`` merge into the stored ones;
    emails follow the one-holder rule of the module docstring."""
    rows = list(rows)
    if "email" not in fields:
        return _upsert(_CUSTOMERS, rows, fields=tuple(fields), merge=_merge_traits)
    _refuse_taken_emails(rows)
    before = {key[0]: old["email"] for key, old in _stored(_CUSTOMERS, rows, ("email",)).items()}
    counts = _upsert(_CUSTOMERS, rows, fields=tuple(fields), merge=_merge_traits)
    _follow_emails(rows, before)
    return counts


def _refuse_taken_emails(rows: list[Row]) -> None:
    """:class:`TakenEmails` when two rows, or a row and a stored customer outside the input,
    would hold the same address."""
    given = {row["external_id"] for row in rows}
    first: dict[str, str] = {}
    taken: list[TakenEmail] = []
    wanted: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        if not (email := (row.get("email") or "").strip().lower()):
            continue
        holder = first.setdefault(email, row["external_id"])
        if holder != row["external_id"]:
            taken.append(TakenEmail(index, row["email"], holder, row["external_id"]))
        wanted.setdefault(email, []).append(index)
    for holder, email in _current_holders(sorted(wanted)):
        if holder not in given:
            index = wanted[email][0]
            row = rows[index]
            taken.append(TakenEmail(index, row["email"], holder, row["external_id"]))
    if taken:
        raise TakenEmails(sorted(taken, key=lambda t: t.index))


def _current_holders(emails: Sequence[str]) -> Iterator[tuple[str, str]]:
    """``(customer id, lower-cased email)`` of the stored customers holding ``emails``."""
    low = Lower("email")
    for chunk in _chunks(emails, _chunk_size()):
        query = Customer.objects.annotate(low=low).filter(low__in=chunk)
        yield from query.values_list("external_id", "low")


def _chunk_size() -> int:
    """Keys per ``IN (...)``: under SQLite's variable limit (PostgreSQL has none)."""
    limit = connection.features.max_query_params
    return 5000 if limit is None else min(limit - 10, 5000)


def _follow_emails(rows: list[Row], before: dict[str, str]) -> None:
    """After the write: old addresses freed and recorded, identities on current ones."""
    now = timezone.now()
    current = {row["external_id"]: (row.get("email") or "").strip() for row in rows}
    changed = {
        customer: (before[customer], email)
        for customer, email in current.items()
        if before.get(customer) and before[customer].lower() != email.lower()
    }
    holding = {customer: email.lower() for customer, email in current.items() if email}
    pks, _ = customer_ids_for(changed.keys() | holding.keys())
    owners = {pk: customer for customer, pk in pks.items()}
    by_email = {email: pks[customer] for customer, email in holding.items()}
    leaving = {old.lower(): pks[customer] for customer, (old, _new) in changed.items()}
    events = [
        DomainEvent(name=EMAIL_CHANGED, customer_id=pks[customer], occurred_at=now,
                    data={"from": old, "to": new, "source": "import"})
        for customer, (old, new) in changed.items()
    ]  # fmt: skip
    gone: list[int] = []
    kept: set[str] = set()
    stale: list[tuple[str, int]] = []  # identities left by a change stored before this rule
    for chunk in _chunks(sorted(leaving.keys() | by_email.keys()), _chunk_size()):
        found = Identity.objects.filter(kind=IdentityKind.EMAIL, value__in=chunk)
        for pk, value, owner in found.values_list("pk", "value", "customer_id"):
            if by_email.get(value) == owner:
                kept.add(value)
            elif leaving.get(value) == owner or value in by_email:
                gone.append(pk)
                if leaving.get(value) != owner:
                    stale.append((value, owner))
    now_held = dict(
        Customer.objects.filter(pk__in={o for _, o in stale}).values_list("pk", "email")
    )
    events += [
        DomainEvent(name=EMAIL_CHANGED, customer_id=owner, occurred_at=now,
                    data={"from": value, "to": now_held[owner], "source": "import",
                          "released_to": owners[by_email[value]]})
        for value, owner in stale
    ]  # fmt: skip
    for chunk in _chunks(gone, _chunk_size()):
        Identity.objects.filter(pk__in=chunk).delete()
    Identity.objects.bulk_create(
        [Identity(customer_id=pk, kind=IdentityKind.EMAIL, value=email)
         for email, pk in by_email.items() if email not in kept],
        ignore_conflicts=True,
    )  # fmt: skip
    DomainEvent.objects.bulk_create(events)


def upsert_orders(
    rows: Sequence[Row], *, fields: Collection[str], allow_moves: bool = False
) -> UpsertCounts:
    """Insert or update orders by ``external_id`` (any status: refunds are data too); an
    order stored under another customer raises :class:`MovedRows` unless ``allow_moves``.

    The file states an order's fields and each import sets them, except that a stored
    ``refunded`` status stays (a tracked refund is a fact a re-import never undoes; the
    upsert itself keeps it, so a refund committed while the file loads stays too).
    ``refunds_kept`` counts the rows that stated another status for a refunded order."""
    return _dependent(_ORDERS, rows, fields=fields, moves=None if allow_moves else "order")


def upsert_subscriptions(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update subscriptions by ``(customer, plan, started_at)``."""
    return _dependent(_SUBSCRIPTIONS, rows, fields=fields)


def upsert_complaints(
    rows: Sequence[Row], *, fields: Collection[str], allow_moves: bool = False
) -> UpsertCounts:
    """Insert or update complaints by ``external_id``; one stored under another customer
    raises :class:`MovedRows` unless ``allow_moves``."""
    return _dependent(_COMPLAINTS, rows, fields=fields, moves=None if allow_moves else "complaint")


def upsert_survey_answers(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update survey answers by ``(customer, survey, answered_at)``."""
    return _dependent(_ANSWERS, rows, fields=fields)


def customer_ids_for(external_ids: Iterable[str]) -> tuple[dict[str, int], int]:
    """The store's primary key for each shop customer id, creating bare customers for the
    unknown ones; and how many were created."""
    wanted = set(external_ids)
    known = _known_customers(wanted)
    missing = sorted(wanted - known.keys())
    _write(_CUSTOMERS, [{"external_id": external_id} for external_id in missing], update=())
    if missing and _staging() is not None:  # written in the burst: the key is found there
        known.update(dict.fromkeys(missing))
    elif missing:
        known.update(_known_customers(missing))
    return known, len(missing)


def _known_customers(external_ids: Collection[str]) -> dict[str, int]:
    known: dict[str, int] = {}
    for chunk in _key_filters(Customer, "external_id", sorted(external_ids)):
        known.update(Customer.objects.filter(chunk).values_list("external_id", "pk"))
    return known


def _dependent(
    target: _Target, rows: Sequence[Row], *, fields: Collection[str], moves: str | None = None
) -> UpsertCounts:
    """Rows naming their customer by the shop's id: resolve it to the store's key first;
    ``moves`` names the rows (``order``) when moving them between customers is refused."""
    ids, created = customer_ids_for(row["customer"] for row in rows)
    resolved = []
    for row in rows:
        values = {name: value for name, value in row.items() if name != "customer"}
        values["customer_id"] = ids[row["customer"]]
        if _staging() is not None:  # a bare customer's key is looked up by this in the burst
            values[_SHOP_CUSTOMER] = row["customer"]
        resolved.append(values)
    names = tuple("customer_id" if name == "customer" else name for name in fields)
    if moves is not None:
        _refuse_moves(target, rows, resolved, moves)
    counts = _upsert(target, resolved, fields=names)
    return UpsertCounts(
        counts.created, counts.updated, counts.unchanged, created, counts.refunds_kept
    )


def _refuse_moves(target: _Target, rows: Sequence[Row], resolved: list[Row], noun: str) -> None:
    stored = _stored(target, resolved, ("customer_id",))
    moved = [
        (index, row, old["customer_id"])
        for index, row in enumerate(resolved)
        if (old := stored.get(tuple(row[name] for name in target.key))) is not None
        and old["customer_id"] != row["customer_id"]
    ]
    if not moved:
        return
    owners: dict[int, str] = {}
    for chunk in _key_filters(Customer, "id", sorted({pk for _, _, pk in moved})):
        owners.update(Customer.objects.filter(chunk).values_list("pk", "external_id"))
    raise MovedRows(
        noun,
        [
            Move(index, row[target.key[0]], owners[pk], rows[index]["customer"])
            for index, row, pk in moved
        ],
    )


def _upsert(
    target: _Target,
    rows: list[Row],
    *,
    fields: tuple[str, ...],
    merge: Callable[[Row, Row | None], Row] | None = None,
) -> UpsertCounts:
    values = tuple(name for name in fields if name not in target.key)
    stored = _stored(target, rows, values)
    writes: list[Row] = []
    created = updated = kept = 0
    final = [(name, value) for name, value in target.final if name in values]
    for row in rows:
        old = stored.get(tuple(row[name] for name in target.key))
        if merge is not None:
            row = merge(row, old)
        for name, value in final:  # as the upsert's CASE does: counts match what is written
            if old is not None and old[name] == value and row[name] != value:
                row = {**row, name: value}
                kept += 1
        if old is None:
            created += 1
        elif any(row[name] != old[name] for name in values):
            updated += 1
        else:
            continue
        writes.append(row)
    _write(target, writes, update=(*values, *target.touched))
    return UpsertCounts(created, updated, len(rows) - created - updated, refunds_kept=kept)


def _stored(target: _Target, rows: list[Row], values: tuple[str, ...]) -> dict[tuple, Row]:
    """The stored values of the rows' keys, by key."""
    lookup, *rest = target.key  # the first key column narrows the query; the rest match here
    if not rows or not target.model.objects.exists():  # a first load: nothing to compare
        return {}
    wanted = {tuple(row[name] for name in target.key) for row in rows}
    columns = (*target.key, *values)
    stored: dict[tuple, Row] = {}
    model = target.model
    for chunk in _key_filters(model, lookup, sorted({key[0] for key in wanted})):
        query = model.objects.filter(chunk).values_list(*columns)
        for found in query.iterator(chunk_size=5000):
            key = found[: len(target.key)]
            if not rest or key in wanted:
                stored[key] = dict(zip(columns, found, strict=True))
    return stored


def _write(target: _Target, rows: list[Row], update: Sequence[str]) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET <update>`` (``DO NOTHING`` without
    ``update``): what ``bulk_create(update_conflicts=True)`` sends, with the values adapted
    once per column instead of through the ORM per value. SQLite runs one prepared statement
    over all rows (its loop in C); PostgreSQL COPYs the rows into a temporary table and
    upserts from it in one statement (a long VALUES list is slow to bind and parse)."""
    if not rows:
        return
    if (staging := _staging()) is not None:
        staging.stage(target, rows, update)
        return
    model = target.model
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    params = list(zip(*(_column_values(field, rows) for field in fields), strict=True))
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            values = "VALUES (" + ", ".join(["%s"] * len(fields)) + ")"
            cursor.executemany(_upsert_sql(target, names, values, update), params)
            return
        staging = quote(f"import_{model._meta.db_table}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {names} FROM {quote(model._meta.db_table)} WITH NO DATA"
        )
        with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        cursor.execute(_upsert_sql(target, names, f"SELECT {names} FROM {staging}", update))
        cursor.execute(f"DROP TABLE {staging}")


def _upsert_sql(target: _Target, names: str, source: str, update: Sequence[str]) -> str:
    model, quote = target.model, connection.ops.quote_name

    def column(name: str) -> str:
        return quote(model._meta.get_field(_name(model, name)).column)

    key = ", ".join(column(name) for name in target.key)
    table = quote(model._meta.db_table)
    final = dict(target.final)

    def new_value(name: str) -> str:
        if name not in final:
            return f"EXCLUDED.{column(name)}"
        # the stored row as the upsert finds it (locked on PostgreSQL), not as read before
        stored, kept = f"{table}.{column(name)}", final[name].replace("'", "''")
        return f"CASE WHEN {stored} = '{kept}' THEN {stored} ELSE EXCLUDED.{column(name)} END"

    if update:
        sets = ", ".join(f"{column(name)} = {new_value(name)}" for name in update)
        action = f"DO UPDATE SET {sets}"
    else:
        action = "DO NOTHING"
    return f"INSERT INTO {table} ({names}) {source} ON CONFLICT ({key}) {action}"


def _column_values(field: Field, rows: list[Row]) -> Sequence[Any]:
    """One column's values as the database takes them; the field's default (adapted once)
    where the rows do not carry it, ``now`` for ``auto_now`` fields."""
    adapt = _adapter(field)
    if field.attname in rows[0]:
        values = [row[field.attname] for row in rows]
        return values if adapt is None else [adapt(value) for value in values]
    automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    default = timezone.now() if automatic else field.get_default()
    return [default if adapt is None else adapt(default)] * len(rows)


def _adapter(field: Field) -> Callable[[Any], Any] | None:
    """How a value of ``field`` goes to the database as the ORM sends it (None: as it is)."""
    ops = connection.ops
    kind = field.get_internal_type()
    if kind == "DateTimeField" and connection.vendor == "sqlite":
        zone = connection.timezone  # as the ORM stores it: naive text in the store's zone
        return lambda value: (
            None if value is None else str(value.astimezone(zone).replace(tzinfo=None))
        )
    if kind == "DateTimeField":
        return ops.adapt_datetimefield_value
    if kind == "DateField":
        return ops.adapt_datefield_value
    if kind == "JSONField":
        return lambda value: field.get_db_prep_save(value, connection)
    return None  # text, numbers, Decimal: the drivers take them as they are


def _merge_traits(row: Row, old: Row | None) -> Row:
    if "traits" not in row or old is None:
        return row
    return {**row, "traits": {**old["traits"], **row["traits"]}}


def _name(model: type[Model], attname: str) -> str:
    """The field name bulk_create wants for an attname (``customer_id`` -> ``customer``)."""
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field.name
    return attname


def _key_filters(model: type[Model], attname: str, keys: Sequence[Any]) -> Iterator[Any]:
    """Filters that together select the rows whose ``attname`` is in ``keys``: on PostgreSQL
    one ``= ANY(%s)`` with the keys as one array parameter (an ``IN`` list of 100,000
    parameters took twice as long to bind and parse); elsewhere ``IN (...)`` in chunks under
    SQLite's limit of 999 variables."""
    if not keys:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        field = model._meta.get_field(_name(model, attname))
        column = f"{quote(model._meta.db_table)}.{quote(field.column)}"
        yield RawSQL(f"{column} = ANY(%s)", (list(keys),), output_field=BooleanField())
        return
    size = min(connection.features.max_query_params - 10, 5000)
    for chunk in _chunks(keys, size):
        yield Q(**{f"{attname}__in": chunk})


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Staged writes (SQLite). SQLite has one write lock for the whole file, taken when a
# transaction begins (``transaction_mode`` IMMEDIATE), so an import that read, compared and
# wrote inside its transaction kept every tracking call waiting for all of it (3.3 s for the
# CDNOW orders). Staged, an import reads and compares first, outside any transaction (each
# read sees what is committed, as PostgreSQL's read committed does), and puts the rows to write,
# already adapted, in temporary tables (the connection's own, no lock on the store); only then
# does one transaction take the lock for a burst of ``INSERT ... SELECT ... ON CONFLICT``
# statements, run inside SQLite. The import stays atomic: the burst is one transaction, and a
# refusal (moves, bad rows) comes before it, with nothing written.

_SHOP_CUSTOMER = "_shop_customer"  # a staged row's customer id in the shop's terms
_STAGING: ContextVar[_Staging | None] = ContextVar("retain_bulk_staging", default=None)


class _Staging:
    """The temporary tables of one import and the statements that write them to the store."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self.statements: list[str] = []

    def stage(self, target: _Target, rows: list[Row], update: Sequence[str]) -> None:
        """Put ``rows`` in a temporary table; the burst upserts them as :func:`_write` does.
        A row whose customer is new (``customer_id`` None) finds its key by the shop's id."""
        model, quote = target.model, connection.ops.quote_name
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        params = list(zip(*(_column_values(field, rows) for field in fields), strict=True))
        names = ", ".join(quote(field.column) for field in fields)
        staged = quote(f"staged_{len(self.tables)}_{model._meta.db_table}")
        by_shop_id = _SHOP_CUSTOMER in rows[0]
        marks = ", ".join(["%s"] * (len(fields) + by_shop_id))
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {staged} AS "
                f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE 0"
            )
            self.tables.append(staged)
            if by_shop_id:
                cursor.execute(f"ALTER TABLE {staged} ADD COLUMN {_SHOP_CUSTOMER} TEXT")
                shop_ids = (row[_SHOP_CUSTOMER] for row in rows)
                params = [(*values, shop) for values, shop in zip(params, shop_ids, strict=True)]
            cursor.executemany(f"INSERT INTO {staged} VALUES ({marks})", params)
        columns = [f"s.{quote(field.column)}" for field in fields]
        if by_shop_id:
            customers = quote(Customer._meta.db_table)
            columns = [
                f"COALESCE({column}, (SELECT c.id FROM {customers} AS c "
                f"WHERE c.external_id = s.{_SHOP_CUSTOMER}))"
                if field.attname == "customer_id" else column
                for field, column in zip(fields, columns, strict=True)
            ]  # fmt: skip
        source = f"SELECT {', '.join(columns)} FROM {staged} AS s WHERE true"  # WHERE: SQLite
        self.statements.append(_upsert_sql(target, names, source, update))  # needs it there

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for staged in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {staged}")


def _staging() -> _Staging | None:
    return _STAGING.get()


def stages_writes(upsert: Callable[..., UpsertCounts], fields: Collection[str]) -> bool:
    """Whether ``upsert`` of rows with ``fields`` is staged here (see above): on SQLite, except
    a customers file with emails (its identities and events are still written in the lock)."""
    return connection.vendor == "sqlite" and not (upsert is upsert_customers and "email" in fields)


@contextmanager
def write_phase(*, staged: bool) -> Iterator[None]:
    """The one atomic block of an import's upserts run inside it: the whole block, or (when
    ``staged``) reads and staging first, then the burst in one transaction."""
    if not staged:
        with transaction.atomic():
            yield
        return
    staging = _Staging()
    token = _STAGING.set(staging)
    try:
        yield
        _STAGING.reset(token)
        token = None
        if staging.statements:
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in staging.statements:
                    cursor.execute(statement)
    finally:
        if token is not None:
            _STAGING.reset(token)
        staging.drop()
