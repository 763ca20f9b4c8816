"""The journey simulator: the store's history replayed through the journeys on a virtual
clock, to see what they would have done (entries, messages, the holdout, the budget, quiet
hours, goals) before letting them loose.

It reuses the runner itself, inside the caller's transaction, which the caller rolls back:
whatever the journeys write (enrolments, messages in the outbox, tags, traits, the sender's
jobs) is gone afterwards, and nothing is sent (the sender runs only from the worker, after a
commit). The clock steps through the period an hour at a time (:mod:`retain.journeys.replay`
says what happens at each step); the figures are then counted from the enrolments and the
outbox rows the replay left, before the rollback.

What it cannot replay is listed in :data:`APPROXIMATIONS` and printed with the figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from retain.errors import NotFound, RuleViolation
from retain.journeys import runner
from retain.journeys.active import ActiveJourney, active_journeys
from retain.journeys.models import Enrolment, Journey, JourneyStatus
from retain.journeys.replay import TICK, Replay, ticks
from retain.messaging.queries import outbox_tally, queued_after

#: The longest period simulated at once, in days.
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
    replay = Replay(journeys, start=start, end=end)
    steps = 0
    with _runner_quiet():
        for clock in ticks(start, end, tick):
            replay.step(clock)
            steps += 1
            if progress is not None and replay.new_day:
                progress(clock)
    figures = _figures(journeys, first_message=replay.first_message)
    samples = _samples(figures, first_message=replay.first_message, wanted=sample)
    return Simulation(
        start=start, end=end, journeys=figures, samples=samples, ticks=steps,
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
