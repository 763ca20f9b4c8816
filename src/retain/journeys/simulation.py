"""The journey simulator: the store's history replayed through the journeys on a virtual
clock, to see what they would have done (entries, messages, the holdout, the budget, quiet
hours, goals) before letting them loose.

It reuses the runner itself, inside the caller's transaction, which the caller rolls back:
whatever the journeys write (enrolments, messages in the outbox, tags, traits, the sender's
jobs) is gone afterwards, and nothing is sent (the sender runs only from the worker, after a
commit). The clock steps through the period a tick (an hour) at a time; at each tick:

- broadcasts whose moment came start (:func:`~retain.journeys.runner.start_broadcasts`);
- once a simulated day, prediction triggers are looked at, as a daily rescoring would;
- date triggers enter the customers whose date came round, at their local time;
- the orders, tracked events and domain events of the tick, read by the time they happened,
  are shown to the running enrolments and enter customers, as the runner's ``react`` does;
- the enrolments due are advanced (their emails rendered and queued) until none is due.

What it cannot replay is listed in :data:`APPROXIMATIONS` and printed with the figures.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from retain.customers.feeds import (
    DatedCustomersInMemory,
    Happening,
    domain_events_after,
    happenings_between,
    last_positions,
)
from retain.errors import NotFound, RuleViolation
from retain.journeys import runner
from retain.journeys.active import ActiveJourney, active_journeys
from retain.journeys.dates import occasions
from retain.journeys.documents import BroadcastTrigger, DateTrigger, PredictionTrigger
from retain.journeys.entering import enter_on_happenings, enter_on_rescoring
from retain.journeys.models import Enrolment, Journey, JourneyStatus
from retain.journeys.runner import RunFigures, _show_to_running, advance_due, start_broadcasts
from retain.messaging.queries import last_message_id, outbox_tally, queued_after

#: How far the virtual clock moves at each tick: a happening is taken at the end of the tick
#: it happened in, and a wait ends at the first tick at or after its end.
TICK = dt.timedelta(hours=1)
_INSTANT = dt.timedelta(microseconds=1)
#: History read from the store at a time (then handed out tick by tick).
READ_AHEAD = dt.timedelta(days=1)
#: Step kinds that record no domain event.
_QUIET_KINDS = frozenset({"email", "webhook", "wait", "wait_for", "branch", "split", "exit"})
#: The longest period simulated at once.
MAX_DAYS = 3660

#: What the simulation cannot replay as it happened; printed with the figures.
APPROXIMATIONS = (
    "Prediction triggers are looked at once a simulated day with the scores as they are now "
    "(the store keeps no history of scores): a condition on ages (days_since_last_order, "
    "days_since_last_activity) moves with the clock, one on scores does not.",
    "Customers are as they are now: their address, consent, unsubscribes, language, time "
    "zone, tags and traits; an audience's ages count orders and events after the simulated "
    "moment as recent.",
    "Domain events (lifecycle.changed, segment.changed, ...) come at the moments they were "
    "recorded: stage changes exist only from the rescorings that really ran.",
    "The journeys start afresh at the beginning of the period: the store's enrolments are "
    "set aside. Messages already in the outbox count towards the pressure budget.",
)


def _clock_note(tick: dt.timedelta) -> str:
    hours = tick / dt.timedelta(hours=1)
    step = "hour" if hours == 1 else f"{hours:g} hours"
    return (
        f"The clock moves an {step} at a time: each happening is taken at the end of the "
        "step it happened in, and a wait ends at the first step at or after its end."
        if hours == 1 else
        f"The clock moves {step} at a time: each happening is taken at the end of the "
        "step it happened in, and a wait ends at the first step at or after its end (quiet "
        "hours and wait-until times are rougher than with the default hour)."
    )  # fmt: skip


@dataclass
class StepFigures:
    """One step's messages: made, and what became of them."""

    step: str
    kind: str
    messages: int = 0
    #: Queued: they would be sent (``deferred`` of them after the customer's quiet hours).
    queued: int = 0
    deferred: int = 0
    held_out: int = 0
    capped: int = 0
    suppressed: int = 0
    failed: int = 0


@dataclass
class JourneyFigures:
    """One journey's figures over the period."""

    key: str
    name: str
    #: Enrolments, and of them: in the holdout, goal reached, still running at the end,
    #: ended in error.
    entered: int = 0
    entered_held_out: int = 0
    converted: int = 0
    running: int = 0
    errors: int = 0
    #: Messages its steps made, and what became of them (as :class:`StepFigures`).
    messages: int = 0
    queued: int = 0
    deferred: int = 0
    held_out: int = 0
    capped: int = 0
    suppressed: int = 0
    failed: int = 0
    #: Why messages were suppressed or failed, and enrolments ended in error, with counts.
    reasons: dict[str, int] = field(default_factory=dict)
    steps: list[StepFigures] = field(default_factory=list)


@dataclass(frozen=True)
class SampleMessage:
    """A message the simulation would have sent, as rendered."""

    journey: str
    step: str
    to: str
    subject: str
    text: str
    html: str
    send_at: dt.datetime


@dataclass
class Simulation:
    start: dt.datetime
    end: dt.datetime
    journeys: list[JourneyFigures]
    samples: list[SampleMessage]
    ticks: int
    seconds: float
    approximations: tuple[str, ...] = APPROXIMATIONS

    def table(self) -> list[str]:
        """The figures per journey, one row each, under a header (columns aligned)."""
        header = ("journey", "entered", "holdout", "converted", "errors", "messages",
                  "to send", "deferred", "held out", "capped", "suppressed", "failed")  # fmt: skip
        rows = [
            (j.key, *(f"{value:,}" for value in (
                j.entered, j.entered_held_out, j.converted, j.errors, j.messages, j.queued,
                j.deferred, j.held_out, j.capped, j.suppressed, j.failed)))
            for j in self.journeys
        ]  # fmt: skip
        everything = [header, *rows]
        widths = [max(len(row[column]) for row in everything) for column in range(len(header))]
        return [
            "  ".join([row[0].ljust(widths[0])] + [
                cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
            ]).rstrip()
            for row in everything
        ]  # fmt: skip

    def lines(self) -> list[str]:
        """Everything for people: the period, the table, each step's messages and the
        reasons, the samples, and what the simulation approximates."""
        last_day = (self.end - dt.timedelta(microseconds=1)).date()
        days = (self.end - self.start).days
        lines = [
            f"Simulated {self.start:%Y-%m-%d} to {last_day} ({days:,} days, {self.ticks:,} "
            f"steps of the clock) in {self.seconds:.1f} s; nothing was stored or sent.",
            "",
            *self.table(),
        ]
        for journey in self.journeys:
            sending = [step for step in journey.steps if step.messages]
            if not sending and not journey.reasons:
                continue
            lines += ["", f"{journey.key}:"]
            lines += [
                f"  step {step.step} ({step.kind}): {step.messages:,} messages, "
                f"{step.queued:,} to send ({step.deferred:,} after quiet hours), "
                f"{step.held_out:,} held out, {step.capped:,} capped, "
                f"{step.suppressed:,} suppressed, {step.failed:,} failed"
                for step in sending
            ]
            lines += [f"  {count:,} x {reason}" for reason, count in
                      list(journey.reasons.items())[:5]]  # fmt: skip
        for sample in self.samples:
            lines += ["", f"--- {sample.journey} / {sample.step}, to be sent "
                      f"{sample.send_at:%Y-%m-%d %H:%M %Z} ---",
                      f"To: {sample.to}", f"Subject: {sample.subject}", "",
                      sample.text.rstrip("\n")]  # fmt: skip
        lines += ["", "What the simulation approximates:"]
        lines += [f"- {note}" for note in self.approximations]
        return lines

    def as_json(self) -> dict[str, Any]:
        """The figures as ``retain journeys simulate --json`` prints them."""
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(),
            "journeys": [asdict(journey) for journey in self.journeys],
            "samples": [{**asdict(sample), "send_at": sample.send_at.isoformat()}
                        for sample in self.samples],
            "approximations": list(self.approximations), "seconds": round(self.seconds, 3),
        }  # fmt: skip


def simulate(
    *,
    start: dt.datetime,
    end: dt.datetime,
    journey: str | None = None,
    sample: int = 0,
    tick: dt.timedelta = TICK,
    progress: Callable[[dt.datetime], None] | None = None,
) -> Simulation:
    """Replay what happened from ``start`` to ``end`` through the active journeys (or the
    journey ``journey``, whatever its status) and count what they did; ``sample`` messages
    they would have sent come with the figures. ``progress`` is told each simulated day.

    Runs in the caller's transaction, which the caller must roll back (it writes as the
    runner does); refuses to run outside one."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("simulate() writes as the runner does: call it in a transaction "
                           "that is rolled back")  # fmt: skip
    if not (start.tzinfo and end.tzinfo):
        raise ValueError("start and end need their time zone")
    if end <= start:
        raise RuleViolation(
            f"the period ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})", field="to"
        )
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise RuleViolation(
            f"the period is {(end - start).days:,} days long; at most {MAX_DAYS:,} at once",
            field="to",
        )
    began = time.perf_counter()
    journeys = _only(journey)
    replay = _Replay(journeys, start=start, end=end)
    ticks = 0
    with _runner_quiet():
        for clock in _ticks(start, end, tick):
            replay.step(clock)
            ticks += 1
            if progress is not None and replay.new_day:
                progress(clock)
    figures = _figures(journeys, first_message=replay.first_message)
    samples = _samples(figures, first_message=replay.first_message, wanted=sample)
    return Simulation(
        start=start, end=end, journeys=figures, samples=samples, ticks=ticks,
        seconds=time.perf_counter() - began, approximations=(*APPROXIMATIONS, _clock_note(tick)),
    )  # fmt: skip


@contextlib.contextmanager
def _runner_quiet() -> Iterator[None]:
    """The runner warns of each enrolment it sets aside; here they are counted instead
    (``errors``, with the reasons), so its warnings are held back while the replay runs."""
    runner_log = logging.getLogger(runner.__name__)
    level = runner_log.level
    runner_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        runner_log.setLevel(level)


def _only(key: str | None) -> list[ActiveJourney]:
    """Make the journeys to simulate the only active ones (in the caller's transaction) and
    set every enrolment aside; the journeys, by priority."""
    if key is not None:
        if not Journey.objects.filter(key=key, current__isnull=False).exists():
            raise NotFound(f"no journey with the key {key!r}", journey=key)
        Journey.objects.exclude(key=key).update(status=JourneyStatus.PAUSED)
        Journey.objects.filter(key=key).update(status=JourneyStatus.ACTIVE)
    journeys = active_journeys()
    if not journeys:
        raise RuleViolation(
            "no active journey to simulate: apply one (`retain journeys apply --builtin`), "
            "or name a paused one with --journey",
            field="journey",
        )
    Enrolment.objects.all().delete()
    return journeys


def _ticks(start: dt.datetime, end: dt.datetime, tick: dt.timedelta) -> Iterator[dt.datetime]:
    """The clock's moments: the last instant of each tick (``10:59:59.999999``), so what
    happened in the hour before 21:00 is taken before quiet hours begin at 21:00, and what
    happened before 08:00 while they last."""
    clock = start
    while clock < end:
        clock = min(clock + tick, end)
        yield clock - _INSTANT


class _Replay:
    """The virtual clock's state between ticks."""

    def __init__(self, journeys: list[ActiveJourney], *, start: dt.datetime, end: dt.datetime):
        self.journeys = journeys
        self.end = end
        self.shop_zone = ZoneInfo(settings.RETAIN_TIME_ZONE)
        self.first_message = last_message_id()
        #: The store as it was: history is read among these rows only; rows the journeys
        #: add (a tag's ``tag.added``) are read by id as they come.
        self.up_to = last_positions()
        self.made_position = self.up_to["domain"]
        self.steps_ran = False
        self.read_until = start
        self.history: list[Happening] = []
        self.next_due: dt.datetime | None = None
        self.day = start.astimezone(self.shop_zone).date()
        self.new_day = False
        self.dated = DatedCustomersInMemory()
        self.dates = [j for j in journeys if isinstance(j.document.trigger, DateTrigger)]
        self.predictions = [
            j for j in journeys if isinstance(j.document.trigger, PredictionTrigger)
        ]
        self.predicted: set[int] = set()
        self.broadcasts = sorted(
            moment for j in journeys if isinstance(j.document.trigger, BroadcastTrigger)
            for moment in _moments(j.document.trigger, start)
        )  # fmt: skip
        self.entered_on: set[tuple[int, int, str]] = set()
        self.previous: dt.datetime | None = None
        self.at_moments: dict[int, list[dt.datetime]] = {}
        #: Whether a step may record a domain event (a ``set`` step's tag or trait, another
        #: domain's step): only then are new domain events looked for.
        self.records_events = any(
            step.kind not in _QUIET_KINDS for j in journeys for step in j.document.steps
        )

    def step(self, clock: dt.datetime) -> None:
        self._step(clock)
        self.previous = clock

    def _step(self, clock: dt.datetime) -> None:
        day = clock.astimezone(self.shop_zone).date()
        self.new_day = self.previous is None or day != self.day
        self.day = day
        entered = 0
        while self.broadcasts and self.broadcasts[0] <= clock:
            self.broadcasts.pop(0)
            entered += start_broadcasts(now=clock)
        if self.new_day:
            entered += self._predict(clock)
        entered += self._dates(clock)
        happenings = self._happened(clock)
        if happenings:
            _show_to_running(happenings, now=clock, figures=RunFigures())
            entered += enter_on_happenings(happenings, self.journeys, now=clock)
            self.next_due = clock  # shown events may have moved enrolments on too
        if entered:
            self.next_due = clock
        if self.next_due is not None and self.next_due <= clock:
            while advance_due(now=clock).more:
                pass
            self.next_due = (  # the first in the due index, not a minimum over all
                Enrolment.objects.filter(active=True, journey__status=JourneyStatus.ACTIVE)
                .exclude(wake_at=None)
                .order_by("wake_at")
                .values_list("wake_at", flat=True)
                .first()
            )
            self.steps_ran = self.records_events

    def _happened(self, clock: dt.datetime) -> list[Happening]:
        """The history up to ``clock`` not handed out yet, and what the journeys added."""
        while self.read_until <= clock:
            until = min(self.read_until + READ_AHEAD, self.end)
            self.history += happenings_between(self.read_until, until, up_to=self.up_to)
            self.read_until = until
        cut = 0
        while cut < len(self.history) and self.history[cut].occurred_at <= clock:
            cut += 1
        found, self.history = self.history[:cut], self.history[cut:]
        if self.steps_ran:
            self.steps_ran = False
            made = domain_events_after(self.made_position, limit=100_000)
            while made:
                self.made_position = made[-1].position
                found += made
                made = domain_events_after(self.made_position, limit=100_000)
            found.sort(key=lambda happening: happening.occurred_at)
        return found

    def _predict(self, clock: dt.datetime) -> int:
        """A daily rescoring's look at the prediction triggers (the first only remembers
        who is inside, as when a journey starts)."""
        entered = 0
        for journey in self.predictions:
            first = journey.journey_id not in self.predicted
            if not first and not self._moves(journey):
                continue  # the same scores give the same matches: nobody new enters
            self.predicted.add(journey.journey_id)
            entered += enter_on_rescoring(journey, run_id=clock.toordinal(), first=first, now=clock)
        return entered

    def _moves(self, journey: ActiveJourney) -> bool:
        """Whether a prediction's condition can change during the simulation: scores are
        as they are now, but ages move with the clock, and tags and traits with the
        journeys' ``set`` steps."""
        trigger = journey.document.trigger
        assert isinstance(trigger, PredictionTrigger)
        named = _fields(trigger.prediction)
        if any(name.startswith("days_since_") for name in named):
            return True
        return self.records_events and any(
            name == "tags" or name.startswith("traits.") for name in named
        )

    def _dates(self, clock: dt.datetime) -> int:
        """The date triggers, as the runner's ``enter_on_dates`` would find them at the
        moments the trigger's time of day comes (in the shop's zone and each customer's),
        with the customers' dates read once; an occasion entered already is not offered
        again."""
        entered = 0
        for journey in self.dates:
            trigger = journey.document.trigger
            assert isinstance(trigger, DateTrigger)
            fresh = []
            for moment in self._moments_of_day(journey.journey_id, trigger, clock):
                found = occasions(trigger, now=moment, shop_zone=settings.RETAIN_TIME_ZONE,
                                  find=self.dated)  # fmt: skip
                for occasion in found:
                    key = (journey.journey_id, occasion.customer_id, occasion.entry_key)
                    if key not in self.entered_on:
                        self.entered_on.add(key)
                        fresh.append(
                            Happening("dates", 0, occasion.customer_id, trigger.date, moment,
                                      occasion.entry_key, dict(occasion.properties))
                        )  # fmt: skip
            if fresh:
                entered += enter_on_happenings(fresh, [journey], now=clock)
        return entered

    def _moments_of_day(
        self, journey_id: int, trigger: DateTrigger, clock: dt.datetime
    ) -> list[dt.datetime]:
        """The moments ``trigger.at`` came during the tick ending at ``clock``, in the
        shop's zone or a customer's (at the first tick: the tick's end, which finds those
        whose time came earlier that day)."""
        if self.new_day or journey_id not in self.at_moments:
            zones = {self.shop_zone, dt.UTC}
            for name in self.dated.zones(_DATE_SOURCES[trigger.date]):
                try:
                    zones.add(ZoneInfo(name))
                except (ValueError, KeyError, OSError):
                    continue  # the shop's zone stands in for it
            around = [self.day + dt.timedelta(days=shift) for shift in (-1, 0, 1, 2)]
            self.at_moments[journey_id] = sorted(
                {dt.datetime.combine(day, trigger.at, tzinfo=zone).astimezone(dt.UTC)
                 for zone in zones for day in around}
            )  # fmt: skip
        moments = self.at_moments[journey_id]
        came = moments[
            bisect.bisect_right(moments, self.previous or clock) : bisect.bisect_right(
                moments, clock
            )
        ]
        return [clock] if self.previous is None else came


def _fields(spec: Any) -> set[str]:
    """The fields an audience filter names."""
    if isinstance(spec, dict):
        if "field" in spec:
            return {str(spec["field"])}
        return set().union(*(_fields(part) for part in spec.values()))
    if isinstance(spec, list):
        return set().union(*(_fields(part) for part in spec))
    return set()


#: Where each date trigger's date is kept (``retain.customers.feeds.DATE_KINDS``).
_DATE_SOURCES = {
    "birthday": "birthday",
    "first_order_anniversary": "first_order",
    "after_first_order": "first_order",
    "after_signup": "signup",
}


def _moments(trigger: BroadcastTrigger, start: dt.datetime) -> Iterator[dt.datetime]:
    """A broadcast's moments after ``start`` (the caller stops at the period's end)."""
    moment = trigger.broadcast
    if trigger.every_days is None:
        if moment > start:
            yield moment
        return
    period = dt.timedelta(days=trigger.every_days)
    if moment <= start:
        moment += period * ((start - moment) // period + 1)
    for _ in range(MAX_DAYS + 1):
        yield moment
        moment += period


def _figures(journeys: list[ActiveJourney], *, first_message: int) -> list[JourneyFigures]:
    """Count what the replay left in the store: enrolments and messages."""
    by_key = {j.key: _empty(j) for j in journeys}
    rows = (
        Enrolment.objects.values("journey__key")
        .annotate(
            entered=Count("pk"),
            held_out=Count("pk", filter=Q(held_out=True)),
            converted=Count("pk", filter=Q(outcome="converted")),
            running=Count("pk", filter=Q(active=True)),
            errors=Count("pk", filter=Q(outcome="error")),
        )
        .order_by()
    )
    for row in rows:
        figures = by_key.get(row["journey__key"])
        if figures is not None:
            figures.entered, figures.entered_held_out = row["entered"], row["held_out"]
            figures.converted, figures.running = row["converted"], row["running"]
            figures.errors = row["errors"]
    errors = (
        Enrolment.objects.filter(outcome="error")
        .values("journey__key", "state__reason")
        .annotate(count=Count("pk"))
        .order_by()
    )
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for row in errors:
        reasons[row["journey__key"]][f"error: {row['state__reason'] or 'unknown'}"] += row["count"]
    for tally in outbox_tally(after=first_message):
        figures = by_key.get(tally.journey)
        if figures is None:
            continue
        step = next((s for s in figures.steps if s.step == tally.step), None)
        if step is None:
            step = StepFigures(tally.step, "email")
            figures.steps.append(step)
        outcome = _outcome(tally.status, tally.reason, tally.deferred)
        for counted in (figures, step):
            counted.messages += tally.count
            setattr(counted, outcome, getattr(counted, outcome) + tally.count)
            if tally.deferred:
                counted.deferred += tally.count
        if outcome in ("suppressed", "failed"):
            reasons[tally.journey][tally.reason or outcome] += tally.count
    for key, counted in reasons.items():
        if key in by_key:
            by_key[key].reasons = dict(counted.most_common())
    return list(by_key.values())


def _empty(journey: ActiveJourney) -> JourneyFigures:
    return JourneyFigures(
        key=journey.key, name=journey.document.name,
        steps=[StepFigures(step.id, step.kind) for step in journey.document.steps],
    )  # fmt: skip


def _outcome(status: str, reason: str, deferred: bool) -> str:
    """The figure a message counts in, by its status (and reason)."""
    if status == "suppressed":
        return "capped" if reason.startswith("capped") else "suppressed"
    if status in ("held_out", "failed"):
        return status
    return "queued"


def _samples(
    figures: list[JourneyFigures], *, first_message: int, wanted: int
) -> list[SampleMessage]:
    """Up to ``wanted`` messages that would have been sent, taken from each journey in turn."""
    if wanted <= 0:
        return []
    pools = [
        queued_after(first_message, journey=journey.key, limit=wanted)
        for journey in figures
        if journey.queued
    ]
    chosen = []
    while len(chosen) < wanted and any(pools):
        for pool in pools:
            if pool and len(chosen) < wanted:
                chosen.append(pool.pop(0))
    return [
        SampleMessage(
            journey=str(message.source.get("journey", "")),
            step=str(message.source.get("step", "")),
            to=message.to_address,
            subject=message.subject,
            text=message.text,
            html=message.html,
            send_at=message.send_after,
        )
        for message in chosen
    ]  # fmt: skip
