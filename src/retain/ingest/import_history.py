"""The record of every bulk import (:class:`~retain.ingest.models.ImportRun`): started when an
import begins, finished with what came of it.

Whichever door an import came through (``retain import``, ``POST /api/v1/imports/{kind}``,
the console's ``/imports/`` page), its row says who sent which file when, the rows read and
what was created or updated, or why nothing was: a refusal keeps its problems in the user's
terms (the column, the rule, the count of bad rows, an example with its line), the first
:data:`KEPT_PROBLEMS` of them, and how many there were.

These functions run in the caller's transaction; the entry points that own an import's
transactions call them (:mod:`retain.ingest.import_runs`).
"""

from __future__ import annotations

import getpass
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from retain.ingest.imports import ImportResult
from retain.ingest.models import ImportOutcome, ImportRun, ImportVia

#: Problems kept with a refused import (the count keeps them all).
KEPT_PROBLEMS = 100
#: The longest detail kept (a refusal lists examples: it may be long).
DETAIL_LIMIT = 4000
_PLACES = ("line", "row")


@dataclass(frozen=True)
class Who:
    """Who started an import and through which door: a user, an API key, or the command line
    (its system account's name)."""

    via: str
    actor: str = ""
    user_id: int | None = None
    api_key_id: int | None = None

    @classmethod
    def command_line(cls) -> Who:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container's)
            name = ""
        return cls(via=ImportVia.COMMAND, actor=name)


def start_import_run(kind: str, *, file_name: str, who: Who) -> ImportRun:
    """A ``running`` row for an import that begins now."""
    return ImportRun.objects.create(
        kind=kind,
        file_name=file_name[:255],
        via=who.via,
        actor=who.actor[:150],
        user_id=who.user_id,
        api_key_id=who.api_key_id,
        started_at=timezone.now(),
    )


def record_imported(run_id: int, result: ImportResult) -> None:
    """The import stored its file: call it in the transaction that stored the rows."""
    ImportRun.objects.filter(pk=run_id).update(
        outcome=ImportOutcome.IMPORTED,
        finished_at=timezone.now(),
        rows_read=result.rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        customers_created=result.customers_created,
    )


def record_refused(
    run_id: int, *, detail: str, details: Mapping[str, Any], rows_read: int | None = None
) -> None:
    """The file was refused (nothing stored): ``detail`` as the door said it, ``details`` the
    error's members (``problems``, ``moves``, ``taken``, ``column``, ``example``, ...)."""
    problems = _json_safe(problems_of(detail, details))
    rows = details.get("rows") if rows_read is None else rows_read
    ImportRun.objects.filter(pk=run_id).update(
        outcome=ImportOutcome.REFUSED,
        finished_at=timezone.now(),
        rows_read=rows if isinstance(rows, int) else None,
        problem_count=len(problems),
        problems=problems[:KEPT_PROBLEMS],
        detail=detail[:DETAIL_LIMIT],
    )


def record_failed(run_id: int, detail: str) -> bool:
    """The import ended without storing anything, for a reason not in its file (a crash, the
    store busy): only a run still ``running`` is marked, so one the import itself finished
    keeps its outcome. Whether it was marked."""
    marked = ImportRun.objects.filter(pk=run_id, outcome=ImportOutcome.RUNNING).update(
        outcome=ImportOutcome.FAILED, finished_at=timezone.now(), detail=detail[:DETAIL_LIMIT]
    )
    return bool(marked)


def problems_of(detail: str, details: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every problem of a refusal as ``{column, rule, bad_rows, example}``: a checked file's
    own list; orders (or complaints) stored under another customer and emails another
    customer holds as one problem each, with the first as example; any other refusal as one
    problem saying what the door said."""
    if isinstance(details.get("problems"), list):
        return [_problem(**problem) for problem in details["problems"]]
    if moves := details.get("moves"):
        example = {**_place(moves[0]), "key": moves[0]["key"],
                   "stored_customer": moves[0]["stored_customer"],
                   "given_customer": moves[0]["given_customer"]}  # fmt: skip
        rule = "already stored under another customer id"
        return [_problem("customer_id", rule, len(moves), example)]
    if taken := details.get("taken"):
        first = taken[0]
        example = {**_place(first), "email": first["email"],
                   "customer_id": first["given_customer"], "holder": first["holder"]}  # fmt: skip
        rule = "another customer's current email"
        return [_problem("email", rule, len(taken), example)]
    column = details.get("column") or details.get("parameter")
    return [_problem(column, detail, details.get("bad_rows"), details.get("example"))]


def _problem(
    column: str | None, rule: str, bad_rows: int | None, example: Any, **_: Any
) -> dict[str, Any]:
    if example is not None and not isinstance(example, dict):
        example = {"value": example}
    return {"column": column, "rule": rule, "bad_rows": bad_rows, "example": example}


def _place(found: Mapping[str, Any]) -> dict[str, Any]:
    return {place: found[place] for place in _PLACES if place in found}


def _json_safe(value: Any) -> Any:
    """Plain JSON (PostgreSQL's ``jsonb`` takes no NaN): times and decimals as text, NaN and
    infinities as null."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
