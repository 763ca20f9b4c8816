"""Entering customers into journeys: deciding who enters (trigger, audience, re-entry rule)
and inserting their enrolments, set-based. The runner then enters each one into the engine
(:mod:`retain.journeys.runner`), which runs its first steps.

An enrolment is unique per (journey, customer, entry key), the entry key naming what entered
the customer (``event:<message id>``, ``order:<id>``, ``domain:<id>``, ``broadcast:<when>``,
``birthday:2026``); a happening read twice, or a broadcast started twice, enters nobody twice.
Customers in the global control group (``RETAIN_GLOBAL_CONTROL``) enter no marketing journey.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max

from retain.customers.audiences import audience_ids, customers_matching
from retain.customers.feeds import Happening
from retain.journeys.active import ActiveJourney
from retain.journeys.documents import JourneyDocument, PredictionTrigger
from retain.journeys.holdout import in_global_control
from retain.journeys.models import Enrolment
from retain.journeys.triggers import is_entered_by

#: The journey's own audience (the default of :func:`enter_audience`'s ``spec``).
_AUDIENCE: Any = object()


def enter_on_happenings(
    happenings: Iterable[Happening], journeys: list[ActiveJourney], *, now: dt.datetime
) -> int:
    """Enrol the customers whom ``happenings`` enter into ``journeys``; the number enrolled."""
    candidates: dict[int, list[Happening]] = defaultdict(list)
    for happening in happenings:
        for journey in journeys:
            if is_entered_by(journey.document, happening):
                candidates[journey.journey_id].append(happening)
    entered = 0
    for journey in journeys:
        chosen = candidates.get(journey.journey_id)
        if chosen:
            entered += _enrol(journey, chosen, now=now)
    return entered


def _enrol(journey: ActiveJourney, happenings: list[Happening], *, now: dt.datetime) -> int:
    document = journey.document
    customers = {happening.customer_id for happening in happenings}
    if document.audience is not None:
        customers &= customers_matching(document.audience, customers, now=now)
    customers = _outside_control(document, customers)
    customers &= _may_enter(journey, customers, now=now)
    rows, seen = [], set()
    for happening in happenings:
        customer = happening.customer_id
        if customer not in customers or (customer in seen and document.reentry.rule != "always"):
            continue  # one entry per batch unless every happening enters
        seen.add(customer)
        rows.append(
            Enrolment(
                journey_id=journey.journey_id, version_id=journey.version_id,
                customer_id=customer, entry_key=happening.key[:200], wake_at=now,
                entered_at=happening.occurred_at,
                entry={"name": happening.name, "properties": happening.properties,
                       "occurred_at": happening.occurred_at.isoformat(),
                       "message_id": happening.key, "first_order": happening.first_order},
            )
        )  # fmt: skip
    # The customers too: the unique index is (journey, customer, entry key), and a journey's
    # key alone would read every enrolment of the journey.
    there = set(
        Enrolment.objects.filter(
            journey_id=journey.journey_id,
            customer_id__in={row.customer_id for row in rows},
            entry_key__in=[row.entry_key for row in rows],
        ).values_list("customer_id", "entry_key")
    )
    rows = [row for row in rows if (row.customer_id, row.entry_key) not in there]
    Enrolment.objects.bulk_create(rows, ignore_conflicts=True)  # a racing runner: no error
    return len(rows)


def _outside_control(document: JourneyDocument, customers: set[int]) -> set[int]:
    """Leave out the global control group from marketing journeys."""
    share = settings.RETAIN_GLOBAL_CONTROL
    if document.transactional or not share:
        return customers
    salt = settings.RETAIN_GLOBAL_CONTROL_SALT
    return {c for c in customers if not in_global_control(str(c), share, salt)}


def _may_enter(journey: ActiveJourney, customers: set[int], *, now: dt.datetime) -> set[int]:
    """The customers the re-entry rule lets in: ``once`` keeps out anyone who entered before
    (any version), ``every_days`` anyone who entered within that many days."""
    rule = journey.document.reentry
    if rule.rule == "always" or not customers:
        return customers
    entered = Enrolment.objects.filter(journey_id=journey.journey_id, customer_id__in=customers)
    if rule.rule == "every":
        assert rule.every_days is not None
        entered = entered.filter(entered_at__gt=now - dt.timedelta(days=rule.every_days))
    return customers - set(entered.values_list("customer_id", flat=True))


def enter_audience(
    journey: ActiveJourney,
    *,
    entry_key: str,
    entry_name: str,
    now: dt.datetime,
    spec: Any = _AUDIENCE,
    only_new_matches: bool = False,
) -> int:
    """Enrol the whole audience of a broadcast (or those of ``spec``) in one statement in the
    database (a million customers are never loaded into Python); the number enrolled. With
    ``only_new_matches``, customers already in the journey's prediction matches are left out."""
    document = journey.document
    chosen, parameters = audience_ids(document.audience if spec is _AUDIENCE else spec, now=now)
    if only_new_matches:
        chosen = (
            f"SELECT inner_chosen.id FROM ({chosen}) inner_chosen WHERE NOT EXISTS (SELECT 1"
            " FROM journeys_predictionmatch m WHERE m.journey_id = %s"
            " AND m.customer_id = inner_chosen.id)"
        )
        parameters = (*parameters, journey.journey_id)
    reentry = ""
    reentry_parameters: list[object] = []
    if document.reentry.rule != "always":
        reentry = (
            " AND NOT EXISTS (SELECT 1 FROM journeys_enrolment e WHERE e.journey_id = %s"
            " AND e.customer_id = chosen.id"
            + (" AND e.entered_at > %s)" if document.reentry.rule == "every" else ")")
        )
        reentry_parameters = [journey.journey_id]
        if document.reentry.rule == "every":
            assert document.reentry.every_days is not None
            reentry_parameters.append(now - dt.timedelta(days=document.reentry.every_days))
    as_json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    entry = json.dumps({"name": entry_name, "properties": {}, "occurred_at": now.isoformat(),
                        "message_id": entry_key})  # fmt: skip
    sql = (
        "INSERT INTO journeys_enrolment (journey_id, version_id, customer_id, entry_key,"
        " held_out, active, wake_at, entry, state, outcome, entered_at)"
        f" SELECT %s, %s, chosen.id, %s, %s, %s, %s, {as_json}, {as_json}, '', %s"
        f" FROM ({chosen}) chosen WHERE true{reentry}"
        " ON CONFLICT (journey_id, customer_id, entry_key) DO NOTHING"
    )
    moment = connection.ops.adapt_datetimefield_value(now)  # as Django stores it (SQLite: text)
    reentry_parameters = [
        connection.ops.adapt_datetimefield_value(value) if isinstance(value, dt.datetime)
        else value
        for value in reentry_parameters
    ]  # fmt: skip
    values = [journey.journey_id, journey.version_id, entry_key[:200], False, True, moment,
              entry, "{}", moment, *parameters, *reentry_parameters]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.rowcount
    if settings.RETAIN_GLOBAL_CONTROL and not document.transactional:
        _drop_control(journey, entry_key)
    return inserted


def enter_on_rescoring(
    journey: ActiveJourney, *, run_id: int, first: bool, now: dt.datetime
) -> int:
    """A prediction trigger after the rescoring ``run_id``: enrol the customers who match its
    condition now and did not after the previous rescoring, then remember who matches.

    The first time a journey is evaluated it only remembers: customers already inside the
    condition when the journey starts do not enter (a broadcast reaches them)."""
    trigger = journey.document.trigger
    assert isinstance(trigger, PredictionTrigger)
    condition = trigger.prediction
    spec = (
        condition
        if journey.document.audience is None
        else {"all": [condition, journey.document.audience]}
    )
    entered = 0
    if not first:
        entered = enter_audience(
            journey, entry_key=f"prediction:{run_id}", entry_name="prediction", now=now,
            spec=spec, only_new_matches=True,
        )  # fmt: skip
    matching, parameters = audience_ids(condition, now=now)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM journeys_predictionmatch WHERE journey_id = %s"
            f" AND customer_id NOT IN ({matching})",
            [journey.journey_id, *parameters],
        )
        cursor.execute(
            "INSERT INTO journeys_predictionmatch (journey_id, customer_id)"
            f" SELECT %s, now_matching.id FROM ({matching}) now_matching WHERE true"
            " ON CONFLICT (journey_id, customer_id) DO NOTHING",
            [journey.journey_id, *parameters],
        )
    return entered


def _drop_control(journey: ActiveJourney, entry_key: str) -> None:
    """Remove the global control group from a broadcast's fresh enrolments (a hash the
    database cannot compute, so it is done after, on ids only)."""
    fresh = Enrolment.objects.filter(journey_id=journey.journey_id, entry_key=entry_key, state={})
    ids = dict(fresh.values_list("customer_id", "pk"))
    kept = _outside_control(journey.document, set(ids))
    Enrolment.objects.filter(pk__in=[ids[c] for c in ids if c not in kept]).delete()


def last_broadcast_key(journey_id: int) -> str | None:
    """The entry key of the journey's latest broadcast, if any."""
    return (
        Enrolment.objects.filter(journey_id=journey_id, entry_key__startswith="broadcast:")
        .aggregate(last=Max("entry_key"))
        .get("last")
    )
