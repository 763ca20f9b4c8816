"""The kinds of file an import takes: each one's columns (file name, store field,
converter), the library check it shares with the analyses, and how the store upserts it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from retain.analytics import (
    check_complaints,
    check_customers,
    check_survey_answers,
    completed_orders,
)
from retain.customers import bulk
from retain.errors import NotFound
from retain.ingest.import_values import (
    Converted,
    dates,
    emails,
    ids,
    money,
    texts,
    times,
    whole_numbers,
)


@dataclass(frozen=True)
class Column:
    name: str  # in the file
    field: str  # in the store
    convert: Callable[[pa.ChunkedArray], Converted]
    required: bool = False


@dataclass(frozen=True)
class Kind:
    columns: tuple[Column, ...]
    upsert: Callable[..., bulk.UpsertCounts]
    #: the library's check, with what stands in for a column it flagged so it can go on
    check: Callable[[pa.Table], Any] | None = None
    stand_in: dict[str, Callable[[int], pa.Array]] | None = None
    unique: tuple[str, ...] = ()  # store fields that together must not repeat in the file
    traits: bool = False  # extra columns go to Customer.traits


def _serial(n: int) -> pa.Array:
    return pa.array([f"_{i}" for i in range(n)])


def _constant(text: str | None) -> Callable[[int], pa.Array]:
    return lambda n: pa.array([text] * n, type=pa.string())


_EPOCH = _constant("1970-01-01")
_CUSTOMER = Column("customer_id", "customer", ids(), required=True)

KINDS: dict[str, Kind] = {
    "customers": Kind(
        columns=(
            Column("customer_id", "external_id", ids(), required=True),
            Column("signed_up_at", "signed_up_at", times(required=False)),
            Column("email", "email", emails),
            Column("name", "name", texts(max_length=200)),
            Column("acquisition_channel", "acquisition_channel", texts(max_length=100)),
            Column("birthday", "birthday", dates),
            Column("segment", "segment", texts(max_length=100)),
        ),
        upsert=bulk.upsert_customers,
        check=check_customers,
        stand_in={
            "customer_id": _serial,
            "signed_up_at": _constant(None),
            "birthday": _constant(None),
        },
        traits=True,
    ),
    "orders": Kind(
        columns=(
            _CUSTOMER,
            Column("order_id", "external_id", ids(), required=True),
            Column("ordered_at", "ordered_at", times(required=True), required=True),
            Column("amount", "amount", money(max_digits=14), required=True),
            Column("currency", "currency", texts(max_length=3, normal=str.upper)),
            Column("channel", "channel", texts(max_length=100)),
            Column("status", "status", texts(max_length=20, default="completed", normal=str.lower)),
        ),
        upsert=bulk.upsert_orders,
        # every order is kept, whatever its status: the checks without the status filter
        check=lambda table: completed_orders(table, status=None, currency=None),
        stand_in={
            "customer_id": _serial,
            "order_id": _serial,
            "ordered_at": _EPOCH,
            "amount": _constant("0"),
        },
    ),
    "subscriptions": Kind(
        columns=(
            _CUSTOMER,
            Column("plan", "plan", ids(max_length=100), required=True),
            Column("started_at", "started_at", times(required=True), required=True),
            Column("ended_at", "ended_at", times(required=False)),
            Column("mrr", "mrr", money(max_digits=12), required=True),
        ),
        upsert=bulk.upsert_subscriptions,
        unique=("customer", "plan", "started_at"),
    ),
    "complaints": Kind(
        columns=(
            _CUSTOMER,
            Column("complaint_id", "external_id", ids(), required=True),
            Column("opened_at", "opened_at", times(required=True), required=True),
            Column("category", "category", texts(max_length=100)),
            Column("severity", "severity", whole_numbers(low=1, high=5)),
            Column("resolved_at", "resolved_at", times(required=False)),
            Column("description", "description", texts()),
        ),
        upsert=bulk.upsert_complaints,
        check=check_complaints,
        stand_in={
            "customer_id": _serial,
            "complaint_id": _serial,
            "opened_at": _EPOCH,
            "resolved_at": _constant(None),
            "severity": _constant(None),
        },
    ),
    "survey-answers": Kind(
        columns=(
            _CUSTOMER,
            Column("survey", "survey", texts(max_length=100, normal=str.lower), required=True),
            Column("answered_at", "answered_at", times(required=True), required=True),
            Column("score", "score", whole_numbers(low=-32768, high=32767), required=True),
            Column("comment", "comment", texts()),
        ),
        upsert=bulk.upsert_survey_answers,
        check=check_survey_answers,
        stand_in={
            "customer_id": _serial,
            "survey": _constant("other"),
            "answered_at": _EPOCH,
            "score": _constant("1"),
        },
        unique=("customer", "survey", "answered_at"),
    ),
}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise NotFound(f"unknown import kind {name!r}; use one of {', '.join(KINDS)}") from None
