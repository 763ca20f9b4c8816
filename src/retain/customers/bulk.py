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
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model

from retain.customers.models import Complaint, Customer, Order, Subscription, SurveyAnswer

#: Rows per INSERT ... ON CONFLICT statement (Django lowers it to fit SQLite's 999 variables).
WRITE_CHUNK = 2000

Row = dict[str, Any]


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: rows inserted, rows changed, rows already as given, and bare
    customers created for unknown customer ids."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0


@dataclass(frozen=True)
class _Target:
    model: type[Model]
    key: tuple[str, ...]  # attnames, the unique constraint the upsert is keyed by
    touched: tuple[str, ...] = ()  # written on every insert or update (auto_now fields)


_CUSTOMERS = _Target(Customer, ("external_id",), touched=("updated_at",))
_ORDERS = _Target(Order, ("external_id",))
_COMPLAINTS = _Target(Complaint, ("external_id",))
_SUBSCRIPTIONS = _Target(Subscription, ("customer_id", "plan", "started_at"))
_ANSWERS = _Target(SurveyAnswer, ("customer_id", "survey", "answered_at"))


def upsert_customers(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update customers by ``external_id``; ``traits`` merge into the stored ones."""
    return _upsert(_CUSTOMERS, list(rows), fields=tuple(fields), merge=_merge_traits)


def upsert_orders(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update orders by ``external_id`` (any status: refunds are data too)."""
    return _dependent(_ORDERS, rows, fields=fields)


def upsert_subscriptions(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update subscriptions by ``(customer, plan, started_at)``."""
    return _dependent(_SUBSCRIPTIONS, rows, fields=fields)


def upsert_complaints(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update complaints by ``external_id``."""
    return _dependent(_COMPLAINTS, rows, fields=fields)


def upsert_survey_answers(rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Insert or update survey answers by ``(customer, survey, answered_at)``."""
    return _dependent(_ANSWERS, rows, fields=fields)


def customer_ids_for(external_ids: Iterable[str]) -> tuple[dict[str, int], int]:
    """The store's primary key for each shop customer id, creating bare customers for the
    unknown ones; and how many were created."""
    wanted = set(external_ids)
    known = _known_customers(wanted)
    missing = sorted(wanted - known.keys())
    for chunk in _chunks(missing, WRITE_CHUNK):
        Customer.objects.bulk_create(
            [Customer(external_id=external_id) for external_id in chunk], ignore_conflicts=True
        )
    if missing:
        known.update(_known_customers(missing))
    return known, len(missing)


def _known_customers(external_ids: Collection[str]) -> dict[str, int]:
    known: dict[str, int] = {}
    for chunk in _chunks(sorted(external_ids), _lookup_chunk()):
        known.update(
            Customer.objects.filter(external_id__in=chunk).values_list("external_id", "pk")
        )
    return known


def _dependent(target: _Target, rows: Sequence[Row], *, fields: Collection[str]) -> UpsertCounts:
    """Rows naming their customer by the shop's id: resolve it to the store's key first."""
    ids, created = customer_ids_for(row["customer"] for row in rows)
    resolved = []
    for row in rows:
        values = {name: value for name, value in row.items() if name != "customer"}
        values["customer_id"] = ids[row["customer"]]
        resolved.append(values)
    names = tuple("customer_id" if name == "customer" else name for name in fields)
    counts = _upsert(target, resolved, fields=names)
    return UpsertCounts(counts.created, counts.updated, counts.unchanged, created)


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
    created = updated = 0
    for row in rows:
        old = stored.get(tuple(row[name] for name in target.key))
        if merge is not None:
            row = merge(row, old)
        if old is None:
            created += 1
        elif any(row[name] != old[name] for name in values):
            updated += 1
        else:
            continue
        writes.append(row)
    _write(target, writes, values)
    return UpsertCounts(created, updated, len(rows) - created - updated)


def _stored(target: _Target, rows: list[Row], values: tuple[str, ...]) -> dict[tuple, Row]:
    """The stored values of the rows' keys, by key."""
    lookup, *rest = target.key  # the first key column narrows the query; the rest match here
    wanted = {tuple(row[name] for name in target.key) for row in rows}
    columns = (*target.key, *values)
    stored: dict[tuple, Row] = {}
    for chunk in _chunks(sorted({key[0] for key in wanted}), _lookup_chunk()):
        query = target.model.objects.filter(**{f"{lookup}__in": chunk}).values_list(*columns)
        for found in query.iterator(chunk_size=5000):
            key = found[: len(target.key)]
            if not rest or key in wanted:
                stored[key] = dict(zip(columns, found, strict=True))
    return stored


def _write(target: _Target, rows: list[Row], values: tuple[str, ...]) -> None:
    if not rows:
        return
    model = target.model
    update_fields = [_name(model, name) for name in (*values, *target.touched)]
    for chunk in _chunks(rows, WRITE_CHUNK):
        objects = [model(**row) for row in chunk]
        if update_fields:
            model.objects.bulk_create(
                objects,
                update_conflicts=True,
                unique_fields=[_name(model, name) for name in target.key],
                update_fields=update_fields,
            )
        else:  # only a key: nothing to update on a conflict
            model.objects.bulk_create(objects, ignore_conflicts=True)


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


def _lookup_chunk() -> int:
    """Keys per ``IN (...)``: under SQLite's variable limit, larger elsewhere."""
    limit = connection.features.max_query_params
    return min(limit - 10, 5000) if limit else 5000


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
