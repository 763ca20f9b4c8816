"""The simulator's virtual clock (:mod:`retain.journeys.simulation`): what happens at each
step of the clock, as the runner's pass does it, on the store's history read by time.

At each step: broadcasts whose moment came start; once a simulated day the prediction
triggers are looked at, as a daily rescoring would; date triggers enter the customers whose
local time of day came; the orders, tracked events and domain events of the step are shown
to the running enrolments and enter customers; the enrolments due are advanced until none
is due. Everything is written in the caller's transaction, which the simulation rolls back.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from retain.customers.feeds import (
    DatedCustomersInMemory,
    Happening,
    domain_events_after,
    happenings_between,
    last_positions,
)
from retain.journeys.active import ActiveJourney
from retain.journeys.dates import occasions
from retain.journeys.documents import BroadcastTrigger, DateTrigger, PredictionTrigger
from retain.journeys.entering import enter_on_happenings, enter_on_rescoring
from retain.journeys.models import Enrolment, JourneyStatus
from retain.journeys.runner import RunFigures, _show_to_running, advance_due, start_broadcasts
from retain.messaging.queries import last_message_id

#: How far the virtual clock moves at each step: a happening is taken at the end of the
#: step it happened in, and a wait ends at the first step at or after its end.
TICK = dt.timedelta(hours=1)
_INSTANT = dt.timedelta(microseconds=1)
#: The most moments of a repeated broadcast looked at (ten years of daily ones).
MOMENTS = 3661
#: History read from the store at a time (then handed out tick by tick).
READ_AHEAD = dt.timedelta(days=1)
#: Step kinds that record no domain event.
_QUIET_KINDS = frozenset({"email", "webhook", "wait", "wait_for", "branch", "split", "exit"})


def ticks(start: dt.datetime, end: dt.datetime, tick: dt.timedelta) -> Iterator[dt.datetime]:
    """The clock's moments: the last instant of each tick (``10:59:59.999999``), so what
    happened in the hour before 21:00 is taken before quiet hours begin at 21:00, and what
    happened before 08:00 while they last."""
    clock = start
    while clock < end:
        clock = min(clock + tick, end)
        yield clock - _INSTANT


class Replay:
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
            for moment in _broadcast_moments(j.document.trigger, start)
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


def _broadcast_moments(trigger: BroadcastTrigger, start: dt.datetime) -> Iterator[dt.datetime]:
    """A broadcast's moments after ``start`` (the caller stops at the period's end)."""
    moment = trigger.broadcast
    if trigger.every_days is None:
        if moment > start:
            yield moment
        return
    period = dt.timedelta(days=trigger.every_days)
    if moment <= start:
        moment += period * ((start - moment) // period + 1)
    for _ in range(MOMENTS):
        yield moment
        moment += period
