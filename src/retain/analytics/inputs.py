"""The other tables a business hands in: customers, complaints and survey answers.

Each ``check_*`` function reads any table kind, refuses bad rows with a :class:`DataError`
(column, count, one example) and returns the ibis table with typed standard columns.

Customers

==================  =========  ========  =====================================
column              type       required  rule
==================  =========  ========  =====================================
customer_id         text       yes       unique, present (numbers become text)
signed_up_at        timestamp  no        a date or time
email               text       no
acquisition_channel text       no
birthday            date       no        not in the future
segment             text       no
==================  =========  ========  =====================================

Complaints: ``customer_id``, ``complaint_id`` (unique), ``opened_at``; optional ``category``,
``severity`` (whole number 1-5), ``resolved_at`` (empty while open, not before ``opened_at``).

Survey answers: ``customer_id``, ``survey`` (``nps``, ``csat``, ``exit`` or a name of yours),
``answered_at``, ``score`` (NPS 0-10, CSAT and exit 1-5, whole numbers); optional ``comment``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from retain.analytics._tables import reject_repeats, reject_rows, require_columns, to_ibis

SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "exit": (1, 5)}


def _present(table: ir.Table, names: tuple[str, ...]) -> None:
    require_columns(table, {name: name for name in names})
    for name in names:
        reject_rows(table, name, table[name].isnull(), f"{name} is missing")


def _timestamp(table: ir.Table, name: str, *, optional: bool = False) -> ir.TimestampValue:
    value = table[name].try_cast("timestamp")
    bad = value.isnull() & table[name].notnull() if optional else value.isnull()
    reject_rows(table, name, bad, "not a date or timestamp")
    return value


def _unique(table: ir.Table, name: str) -> None:
    reject_repeats(table, name, name.removesuffix("_id"))


def _id_text(value: ir.Value) -> ir.StringValue:
    """Ids are text everywhere, so a numeric id column joins a text one (``7`` is ``"7"``)."""
    if value.type().is_floating():
        whole = value.cast("int64").cast("string")
        return ibis.ifelse(value == value.round(), whole, value.cast("string"))
    return value.cast("string")


def check_customers(customers: Any, *, today: dt.date | None = None) -> ir.Table:
    """Check a customers table (module docstring) and return it typed."""
    table, _ = to_ibis(customers)
    _present(table, ("customer_id",))
    _unique(table, "customer_id")
    columns: dict[str, ir.Value] = {"customer_id": _id_text(table.customer_id)}
    if "signed_up_at" in table.columns:
        columns["signed_up_at"] = _timestamp(table, "signed_up_at", optional=True)
    if "birthday" in table.columns:
        birthday = _timestamp(table, "birthday", optional=True).date()
        limit = ibis.literal(today or dt.date.today())
        reject_rows(table, "birthday", birthday > limit, "birthday is in the future")
        columns["birthday"] = birthday
    for name in ("email", "acquisition_channel", "segment"):
        if name in table.columns:
            columns[name] = table[name].cast("string")
    return table.select(**columns)


def check_complaints(complaints: Any) -> ir.Table:
    """Check a complaints table (module docstring) and return it typed."""
    table, _ = to_ibis(complaints)
    _present(table, ("customer_id", "complaint_id", "opened_at"))
    _unique(table, "complaint_id")
    opened = _timestamp(table, "opened_at")
    columns = {
        "customer_id": table.customer_id,
        "complaint_id": table.complaint_id,
        "opened_at": opened,
    }
    if "resolved_at" in table.columns:
        resolved = _timestamp(table, "resolved_at", optional=True)
        reject_rows(table, "resolved_at", resolved < opened, "resolved before it was opened")
        columns["resolved_at"] = resolved
    if "severity" in table.columns:
        severity = table.severity.try_cast("int64")
        bad = table.severity.notnull() & (
            severity.isnull() | (severity < 1) | (severity > 5)
            | (severity.cast("float64") != table.severity.try_cast("float64"))
        )  # fmt: skip
        reject_rows(table, "severity", bad, "severity must be a whole number from 1 to 5")
        columns["severity"] = severity
    if "category" in table.columns:
        columns["category"] = table.category.cast("string")
    return table.select(**columns)


def check_survey_answers(answers: Any) -> ir.Table:
    """Check a survey answers table (module docstring) and return it typed."""
    table, _ = to_ibis(answers)
    _present(table, ("customer_id", "survey", "answered_at", "score"))
    answered = _timestamp(table, "answered_at")
    score = table.score.try_cast("float64")
    reject_rows(table, "score", score.isnull() | score.isnan(), "score is not a number")
    reject_rows(table, "score", score != score.round(), "score must be a whole number")
    survey = table.survey.cast("string").lower().strip()
    for name, (low, high) in SCORE_RANGES.items():
        reject_rows(
            table,
            "score",
            (survey == name) & ((score < low) | (score > high)),
            f"a {name} score must be from {low} to {high}",
        )
    columns = {
        "customer_id": table.customer_id,
        "survey": survey,
        "answered_at": answered,
        "score": score.cast("int64"),
    }
    if "comment" in table.columns:
        columns["comment"] = table.comment.cast("string")
    return table.select(**columns)
