"""The runner: what moves enrolments, in short transactions of a batch each.

- :func:`react` reads what happened since its cursors (events, orders, domain events),
  enters the customers those happenings enter, and shows each happening to the customer's
  running enrolments (a ``wait_for`` or a goal may be waiting for it).
- :func:`advance_due` claims the enrolments due now (by ``wake_at``; ``SKIP LOCKED`` on
  PostgreSQL, so two workers never take the same one), enters the new ones into the engine
  and ticks the others, and carries out their actions in the same transaction: messages go
  into the outbox under their idempotency keys, and the sender sends them after the commit.
- :func:`start_broadcasts` enrols a broadcast's audience when its moment has come.

A batch whose actions fail is done again one enrolment at a time; an enrolment that still
fails ends with the outcome ``error`` and the reason, and the rest go on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from retain.bulk_sql import update_rows
from retain.customers.audiences import customers_matching
from retain.customers.feeds import (
    Happening,
    domain_events_after,
    events_after,
    last_positions,
    orders_after,
)
from retain.customers.queries import contacts, last_rescoring
from retain.journeys.acting import Acting, carry_out
from retain.journeys.active import ActiveJourney, active_journeys, documents_of
from retain.journeys.dates import occasions
from retain.journeys.documents import (
    BroadcastTrigger,
    DateTrigger,
    JourneyDocument,
    PredictionTrigger,
)
from retain.journeys.engine import (
    Action,
    Ended,
    EnrolmentState,
    Entry,
    EventSeen,
    Tick,
    advance,
    enter,
)
from retain.journeys.entering import enter_audience, enter_on_happenings, enter_on_rescoring
from retain.journeys.holdout import in_holdout
from retain.journeys.models import Enrolment, FeedCursor, Journey

logger = logging.getLogger(__name__)

#: The runner's job (:mod:`retain.journeys.tasks`), one waiting at a time under this key.
RUN_JOB = "journeys.run"
#: Enrolments advanced per transaction, and happenings read per feed per transaction.
BATCH = 500
#: The columns of an enrolment a move changes.
_SAVED = ("state", "wake_at", "active", "held_out", "outcome", "ended_at")
FEEDS = {"events": events_after, "orders": orders_after, "domain": domain_events_after}


@dataclass
class RunFigures:
    """What one pass did."""

    happenings: int = 0
    entered: int = 0
    advanced: int = 0
    failed: int = 0
    more: bool = False
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: RunFigures) -> RunFigures:
        """These figures and ``other``'s together."""
        self.happenings += other.happenings
        self.entered += other.entered
        self.advanced += other.advanced
        self.failed += other.failed
        self.more |= other.more
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] += count
        return self


# --- reacting to what happened -------------------------------------------------------------


def react(*, now: dt.datetime, limit: int = BATCH) -> RunFigures:
    """One batch of each feed, in the caller's transaction: enter, show to running
    enrolments, move the cursors."""
    figures = RunFigures()
    cursors = _cursors()
    happenings: list[Happening] = []
    for feed, read in FEEDS.items():
        batch = read(cursors[feed].position, limit=limit)
        if batch:
            cursors[feed].position = batch[-1].position
            cursors[feed].save(update_fields=["position"])
            figures.more |= len(batch) == limit
        happenings += batch
    if not happenings:
        return figures
    happenings.sort(key=lambda happening: happening.occurred_at)
    figures.happenings = len(happenings)
    _show_to_running(happenings, now=now, figures=figures)
    figures.entered = enter_on_happenings(happenings, active_journeys(), now=now)
    return figures


def _cursors() -> dict[str, FeedCursor]:
    """The feeds' cursors, locked for this transaction; a feed never read starts at its
    newest row (journeys react to what happens from now on, not to the store's past)."""
    found = {c.feed: c for c in FeedCursor.objects.select_for_update().filter(feed__in=FEEDS)}
    if len(found) < len(FEEDS):
        newest = last_positions()
        for feed in FEEDS:
            if feed not in found:
                FeedCursor.objects.get_or_create(feed=feed, defaults={"position": newest[feed]})
        found = {c.feed: c for c in FeedCursor.objects.select_for_update().filter(feed__in=FEEDS)}
    return found


def start_reading_now() -> None:
    """Put the cursors of feeds never read at their newest rows (called when a journey is
    applied, so it does not react to what happened before it existed)."""
    _cursors()


def _show_to_running(happenings: list[Happening], *, now: dt.datetime, figures: RunFigures) -> None:
    """Show each happening to its customer's running, entered enrolments."""
    by_customer: dict[int, list[Happening]] = defaultdict(list)
    for happening in happenings:
        by_customer[happening.customer_id].append(happening)
    running = list(
        Enrolment.objects.select_for_update()
        .filter(active=True, customer_id__in=list(by_customer))
        .exclude(state={})
        .select_related("journey", "version")
        .defer("version__document", "version__source_text")
    )
    moved = []
    for enrolment in running:
        moved.append((enrolment, [_seen(h) for h in by_customer[enrolment.customer_id]]))
    _advance_many(moved, now=now, figures=figures)


def _seen(happening: Happening) -> EventSeen:
    return EventSeen(
        name=happening.name, properties=happening.properties,
        occurred_at=happening.occurred_at, message_id=happening.key,
    )  # fmt: skip


# --- advancing due enrolments ------------------------------------------------------------


def advance_due(*, now: dt.datetime, limit: int = BATCH) -> RunFigures:
    """Claim up to ``limit`` enrolments due at ``now`` and move them on, in the caller's
    transaction (locked until it ends; on PostgreSQL other runners skip them)."""
    figures = RunFigures()
    due = (
        Enrolment.objects.filter(active=True, wake_at__lte=now, journey__status="active")
        .order_by("wake_at")
        .select_related("journey", "version")
        .defer("version__document", "version__source_text")
    )
    if connection.vendor == "postgresql":
        due = due.select_for_update(skip_locked=True, of=("self",))
    claimed = list(due[:limit])
    figures.more = len(claimed) == limit
    _advance_many([(enrolment, [Tick()]) for enrolment in claimed], now=now, figures=figures)
    return figures


def _advance_many(
    moves: list[tuple[Enrolment, list[Any]]], *, now: dt.datetime, figures: RunFigures
) -> None:
    """Move each enrolment by its stimuli, carry out the actions, save what changed. A
    batch that fails is redone one enrolment at a time, each in a savepoint."""
    if not moves:
        return
    facts = _BatchFacts([enrolment.customer_id for enrolment, _ in moves], now=now)
    try:
        with transaction.atomic():
            _move_and_act(moves, now=now, facts=facts, figures=figures)
    except Exception:
        logger.warning("a batch of %d enrolments failed; one by one now", len(moves), exc_info=True)
        for move in moves:
            move[0].refresh_from_db()  # undo what the failed batch changed in memory
            try:
                with transaction.atomic():
                    _move_and_act([move], now=now, facts=facts, figures=figures)
            except Exception as error:
                figures.failed += 1
                _set_aside(move[0], error, now=now)


def _move_and_act(
    moves: list[tuple[Enrolment, list[Any]]],
    *,
    now: dt.datetime,
    facts: _BatchFacts,
    figures: RunFigures,
) -> None:
    acting: list[Acting] = []
    changed: list[Enrolment] = []
    documents = documents_of({enrolment.version_id for enrolment, _ in moves})
    for enrolment, stimuli in moves:
        document = documents[enrolment.version_id]
        facts.customer_id = enrolment.customer_id
        state, actions = _move(enrolment, document, stimuli, now=now, facts=facts)
        if state is None:
            continue
        _store(enrolment, state, now=now, figures=figures)
        changed.append(enrolment)
        if actions:
            acting.append(
                Acting(
                    enrolment_id=enrolment.pk, customer_id=enrolment.customer_id,
                    journey_key=enrolment.journey.key, journey_name=document.name,
                    version=_version_number(enrolment), priority=document.priority,
                    entry=enrolment.entry, actions=actions,
                )
            )  # fmt: skip
    carry_out(acting, now=now)
    update_rows(
        Enrolment._meta.db_table, "id", _SAVED,
        ("jsonb", "timestamptz", "boolean", "boolean", "text", "timestamptz"),
        [(e.pk, e.state, e.wake_at, e.active, e.held_out, e.outcome, e.ended_at)
         for e in changed],
    )  # fmt: skip
    figures.advanced += len(changed)


def _move(
    enrolment: Enrolment,
    document: JourneyDocument,
    stimuli: Iterable[Any],
    *,
    now: dt.datetime,
    facts: _BatchFacts,
) -> tuple[EnrolmentState | None, list[Action]]:
    """The enrolment's new state and actions; ``None`` when nothing changed."""
    actions: list[Action] = []
    if not enrolment.state:  # entered by the store, not yet by the engine
        held_out = not document.transactional and in_holdout(
            document.key, str(enrolment.customer_id), document.holdout
        )
        state, actions = enter(
            document, enrolment_key=f"{document.key}:{_version_number(enrolment)}:{enrolment.pk}",
            customer_key=str(enrolment.customer_id), entry=_entry(enrolment.entry),
            now=now, held_out=held_out, facts=facts,
        )  # fmt: skip
        changed = True
    else:
        state = EnrolmentState.from_json(enrolment.state)
        changed = False
    for stimulus in stimuli:
        if isinstance(stimulus, Tick) and not changed and _not_due(state, now):
            continue
        before = state
        state, more = advance(document, state, stimulus, now=now, facts=facts)
        actions += more
        changed |= state != before
    return (state if changed else None), actions


def _not_due(state: EnrolmentState, now: dt.datetime) -> bool:
    return state.wake_at is not None and state.wake_at > now


def _store(
    enrolment: Enrolment,
    state: EnrolmentState,
    *,
    now: dt.datetime,
    figures: RunFigures,
) -> None:
    enrolment.state = state.to_json()
    enrolment.held_out = state.held_out
    enrolment.wake_at = state.wake_at
    if not state.running:
        enrolment.active = False
        enrolment.wake_at = None
        enrolment.outcome = str(state.outcome or "")
        enrolment.ended_at = state.ended_at or now
        figures.outcomes[enrolment.outcome] += 1


def _set_aside(enrolment: Enrolment, error: Exception, *, now: dt.datetime) -> None:
    """End an enrolment whose step cannot be carried out, with the reason, so the others go
    on (one bad enrolment never stops a journey run)."""
    logger.warning("enrolment %s set aside: %s", enrolment.pk, error)
    state = enrolment.state or {}
    Enrolment.objects.filter(pk=enrolment.pk).update(
        active=False, wake_at=None, outcome="error", ended_at=now,
        state={**state, "reason": f"{type(error).__name__}: {error}"[:1000]},
    )  # fmt: skip


def _version_number(enrolment: Enrolment) -> int:
    return enrolment.version.number


def _entry(stored: Mapping[str, Any]) -> Entry:
    occurred = stored.get("occurred_at")
    return Entry(
        name=str(stored.get("name") or ""),
        properties=dict(stored.get("properties") or {}),
        occurred_at=dt.datetime.fromisoformat(occurred) if occurred else None,
        message_id=stored.get("message_id"),
    )


class _BatchFacts:
    """The engine's :class:`~retain.journeys.engine.Facts` for a batch of customers: a
    branch's filter is answered for the whole batch in one query, the first time it is
    asked."""

    def __init__(self, customer_ids: list[int], *, now: dt.datetime) -> None:
        self.customer_ids = customer_ids
        self.customer_id = customer_ids[0] if customer_ids else 0
        self.now = now
        self._answers: dict[str, set[int]] = {}
        self._zones: dict[int, str | None] | None = None

    def matches(self, condition: Mapping[str, Any]) -> bool:
        key = repr(sorted(condition.items()))
        if key not in self._answers:
            self._answers[key] = customers_matching(condition, self.customer_ids, now=self.now)
        return self.customer_id in self._answers[key]

    def time_zone(self) -> str | None:
        if self._zones is None:
            self._zones = {c: contact.time_zone for c, contact in
                           contacts(self.customer_ids).items()}  # fmt: skip
        return self._zones.get(self.customer_id) or settings.RETAIN_TIME_ZONE


# --- broadcasts --------------------------------------------------------------------------


def start_broadcasts(*, now: dt.datetime) -> int:
    """Enrol the audience of each broadcast whose moment has come (once per moment: the
    moment is the entry key), in the caller's transaction."""
    entered = 0
    for journey in active_journeys():
        trigger = journey.document.trigger
        if not isinstance(trigger, BroadcastTrigger):
            continue
        moment = _latest_moment(trigger, now)
        if moment is None:
            continue
        key = f"broadcast:{moment.astimezone(dt.UTC).isoformat()}"
        Journey.objects.select_for_update().filter(pk=journey.journey_id).first()
        if Enrolment.objects.filter(journey_id=journey.journey_id, entry_key=key).exists():
            continue  # this moment's audience entered already
        entered += enter_audience(journey, entry_key=key, entry_name="broadcast", now=now)
    return entered


def enter_on_predictions(*, now: dt.datetime) -> int:
    """After a new successful rescoring, enter each prediction journey's new matches (in the
    caller's transaction); the number enrolled."""
    run = last_rescoring()
    if run is None or not run.succeeded:
        return 0
    entered = 0
    for journey in active_journeys():
        if not isinstance(journey.document.trigger, PredictionTrigger):
            continue
        cursor, created = FeedCursor.objects.select_for_update().get_or_create(
            feed=f"prediction:{journey.journey_id}", defaults={"position": 0}
        )
        if cursor.position >= run.pk:
            continue
        entered += enter_on_rescoring(journey, run_id=run.pk, first=created, now=now)
        cursor.position = run.pk
        cursor.save(update_fields=["position"])
    return entered


#: How often the date triggers are looked at (a customer enters up to this late).
DATES_EVERY = dt.timedelta(minutes=10)


def enter_on_dates(*, now: dt.datetime, force: bool = False) -> int:
    """Enter the customers whose date has come round (at most every :data:`DATES_EVERY`,
    unless ``force``), in the caller's transaction; the number enrolled."""
    cursor, _ = FeedCursor.objects.select_for_update().get_or_create(
        feed="dates", defaults={"position": 0}
    )
    minute = int(now.timestamp() // 60)
    if not force and minute - cursor.position < DATES_EVERY.total_seconds() // 60:
        return 0
    cursor.position = minute
    cursor.save(update_fields=["position"])
    entered = 0
    for journey in active_journeys():
        trigger = journey.document.trigger
        if not isinstance(trigger, DateTrigger):
            continue
        found = occasions(trigger, now=now, shop_zone=settings.RETAIN_TIME_ZONE)
        happenings = [
            Happening("dates", 0, occasion.customer_id, trigger.date, now, occasion.entry_key,
                      dict(occasion.properties))
            for occasion in found
        ]  # fmt: skip
        entered += enter_on_happenings(happenings, [journey], now=now)
    return entered


def _latest_moment(trigger: BroadcastTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest scheduled moment at or before ``now`` (``None`` before the first)."""
    first = trigger.broadcast
    if first > now:
        return None
    if trigger.every_days is None:
        return first
    period = dt.timedelta(days=trigger.every_days)
    return first + period * ((now - first) // period)


__all__ = ["ActiveJourney", "Ended", "RunFigures", "advance_due", "react", "start_broadcasts"]
