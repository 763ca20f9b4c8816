"""Local time for waits (retain.journeys.clock): wall times to instants across daylight
saving, and the next allowed local time on allowed weekdays."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retain.journeys.clock import UnknownTimeZone, next_allowed, to_instant, zone_named
from tests.journeys.engine_builders import utc

ATHENS = zoneinfo.ZoneInfo("Europe/Athens")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
BANGKOK = zoneinfo.ZoneInfo("Asia/Bangkok")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
ZONES = [ATHENS, NEW_YORK, BANGKOK, zoneinfo.ZoneInfo("Australia/Lord_Howe"),
         zoneinfo.ZoneInfo("Pacific/Apia"), zoneinfo.ZoneInfo("America/Santiago")]  # fmt: skip


def wall(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def local(instant: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


# --- a wall time to an instant ----------------------------------------------------------------


def test_an_ordinary_wall_time_is_its_one_instant() -> None:
    assert to_instant(wall("2026-03-02T10:00"), BANGKOK) == utc("2026-03-02T03:00")
    assert to_instant(wall("2026-07-01T10:00"), ATHENS) == utc("2026-07-01T07:00")


def test_a_wall_time_skipped_by_spring_forward_in_athens_is_the_moment_the_clocks_jump() -> None:
    # 03:00 EET became 04:00 EEST on 29 March 2026 (01:00 UTC)
    assert to_instant(wall("2026-03-29T03:30"), ATHENS) == utc("2026-03-29T01:00")
    assert to_instant(wall("2026-03-29T03:00"), ATHENS) == utc("2026-03-29T01:00")
    assert to_instant(wall("2026-03-29T04:00"), ATHENS) == utc("2026-03-29T01:00")
    assert to_instant(wall("2026-03-29T02:59:59"), ATHENS) == utc("2026-03-29T00:59:59")


def test_a_wall_time_skipped_by_spring_forward_in_new_york_is_the_moment_the_clocks_jump() -> None:
    # 02:00 EST became 03:00 EDT on 8 March 2026 (07:00 UTC)
    assert to_instant(wall("2026-03-08T02:30"), NEW_YORK) == utc("2026-03-08T07:00")
    assert local(utc("2026-03-08T07:00"), NEW_YORK) == wall("2026-03-08T03:00")


def test_a_wall_time_repeated_by_fall_back_is_its_first_occurrence() -> None:
    # Athens: 04:00 EEST went back to 03:00 EET on 25 October 2026 (01:00 UTC)
    assert to_instant(wall("2026-10-25T03:30"), ATHENS) == utc("2026-10-25T00:30")
    # New York: 02:00 EDT went back to 01:00 EST on 1 November 2026 (06:00 UTC)
    assert to_instant(wall("2026-11-01T01:30"), NEW_YORK) == utc("2026-11-01T05:30")


def test_a_day_a_zone_skipped_whole_goes_to_the_next_day() -> None:
    # Samoa skipped 30 December 2011, going from -10 to +14 at midnight
    apia = zoneinfo.ZoneInfo("Pacific/Apia")
    instant = to_instant(wall("2011-12-30T10:00"), apia)
    assert local(instant, apia) == wall("2011-12-31T00:00")


def test_bangkok_has_no_daylight_saving_all_year() -> None:
    for month in range(1, 13):
        moment = to_instant(wall(f"2026-{month:02d}-15T10:00"), BANGKOK)
        assert moment == utc(f"2026-{month:02d}-15T03:00")


def _first_instant_reading_at_least(target: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The reference, by brute force: minute by minute, the first instant whose wall clock
    reads ``target`` or later."""
    moment = target.replace(tzinfo=dt.UTC) - dt.timedelta(hours=27)
    while local(moment, zone) < target:
        moment += dt.timedelta(minutes=1)
    return moment


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    target=st.datetimes(min_value=dt.datetime(1995, 1, 1), max_value=dt.datetime(2035, 12, 31)),
    near_a_change=st.booleans(),
)
def test_a_wall_time_is_the_first_instant_whose_clock_reads_it_or_later(
    zone: dt.tzinfo, target: dt.datetime, near_a_change: bool
) -> None:
    target = target.replace(second=0, microsecond=0)
    if near_a_change:  # half the examples on a day the clocks change, where it matters
        target = _near_a_change(zone, target)
    assert to_instant(target, zone) == _first_instant_reading_at_least(target, zone)


def _near_a_change(zone: dt.tzinfo, target: dt.datetime) -> dt.datetime:
    """A wall time within an hour of the next change of the zone's offset after ``target``."""
    moment = target.replace(tzinfo=dt.UTC)
    offset = moment.astimezone(zone).utcoffset()
    for _ in range(24 * 400):
        moment += dt.timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != offset:
            break
    before = local(moment - dt.timedelta(hours=1), zone)
    return before + dt.timedelta(minutes=target.minute + 60 * (target.hour % 3))


# --- the next allowed local time --------------------------------------------------------------


def test_until_a_time_already_past_today_is_tomorrow_at_that_time() -> None:
    # Monday 16:00 in Bangkok
    found = next_allowed(utc("2026-03-02T09:00"), BANGKOK, at=dt.time(10))
    assert found == utc("2026-03-03T03:00")


def test_until_a_time_later_today_is_today() -> None:
    found = next_allowed(utc("2026-03-02T02:00"), BANGKOK, at=dt.time(10))
    assert found == utc("2026-03-02T03:00")


def test_until_the_time_it_is_now_is_now() -> None:
    assert next_allowed(utc("2026-03-02T03:00"), BANGKOK, at=dt.time(10)) == utc("2026-03-02T03:00")


def test_until_a_time_on_weekdays_skips_the_weekend() -> None:
    # Friday 16:00 in Bangkok -> Monday 10:00
    found = next_allowed(
        utc("2026-03-06T09:00"), BANGKOK, at=dt.time(10), weekdays={MON, TUE, WED, THU, FRI}
    )
    assert found == utc("2026-03-09T03:00")
    assert local(found, BANGKOK).weekday() == MON


def test_one_weekday_with_its_time_past_is_a_week_later() -> None:
    # Monday 16:00 in Bangkok, until Monday 10:00
    found = next_allowed(utc("2026-03-02T09:00"), BANGKOK, at=dt.time(10), weekdays={MON})
    assert found == utc("2026-03-09T03:00")


def test_weekdays_alone_keep_the_time_of_day_and_move_the_day() -> None:
    # Saturday 14:30 in Bangkok -> Monday 14:30
    found = next_allowed(utc("2026-03-07T07:30"), BANGKOK, weekdays={MON, TUE, WED, THU, FRI})
    assert found == utc("2026-03-09T07:30")


def test_weekdays_alone_on_an_allowed_day_are_at_once() -> None:
    start = utc("2026-03-04T07:31:12")
    assert next_allowed(start, BANGKOK, weekdays={WED}) == start


def test_until_across_spring_forward_keeps_the_local_time_in_athens() -> None:
    # Saturday 28 March 12:00 EET; Sunday 10:00 is EEST (UTC+3): 07:00 UTC, not 08:00
    found = next_allowed(utc("2026-03-28T10:00"), ATHENS, at=dt.time(10))
    assert found == utc("2026-03-29T07:00")
    assert local(found, ATHENS) == wall("2026-03-29T10:00")


def test_until_across_fall_back_keeps_the_local_time_in_new_york() -> None:
    # Saturday 31 October 12:00 EDT; Sunday 10:00 is EST (UTC-5): 15:00 UTC
    found = next_allowed(utc("2026-10-31T16:00"), NEW_YORK, at=dt.time(10))
    assert found == utc("2026-11-01T15:00")


def test_until_a_time_that_does_not_exist_that_day_is_the_jump() -> None:
    found = next_allowed(utc("2026-03-28T10:00"), ATHENS, at=dt.time(3, 30))
    assert found == utc("2026-03-29T01:00")
    assert local(found, ATHENS) == wall("2026-03-29T04:00")
    # the next day it exists again
    assert next_allowed(found + dt.timedelta(seconds=1), ATHENS, at=dt.time(3, 30)) == utc(
        "2026-03-30T00:30"
    )


def test_until_an_ambiguous_time_is_its_first_occurrence_and_once_passed_the_next_day() -> None:
    first = next_allowed(utc("2026-10-31T16:00"), NEW_YORK, at=dt.time(1, 30))
    assert first == utc("2026-11-01T05:30")  # 01:30 EDT
    # at 01:45 EDT, between the two 01:30s: the day's 01:30 has passed
    after_first = next_allowed(utc("2026-11-01T05:45"), NEW_YORK, at=dt.time(1, 30))
    assert after_first == utc("2026-11-02T06:30")  # Monday 01:30 EST


def test_a_wait_that_lands_in_the_repeated_hour_with_weekdays_keeps_its_instant() -> None:
    start = utc("2026-11-01T06:30")  # 01:30 EST, the second 01:30, a Sunday
    assert next_allowed(start, NEW_YORK, weekdays={SUN}) == start


def test_bangkok_until_is_the_same_utc_time_every_day_of_the_year() -> None:
    moment = utc("2026-01-01T05:00")
    for _ in range(365):
        moment = next_allowed(moment + dt.timedelta(hours=1), BANGKOK, at=dt.time(9))
        assert moment.time() == dt.time(2)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2035, 12, 31)),
    at=st.times(),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1) | st.none(),
)
def test_until_is_the_earliest_instant_of_the_time_on_an_allowed_day_from_the_start(
    zone: dt.tzinfo, start: dt.datetime, at: dt.time, weekdays: frozenset[int] | None
) -> None:
    begin = start.replace(tzinfo=dt.UTC)
    found = next_allowed(begin, zone, at=at, weekdays=weekdays)
    allowed = weekdays if weekdays is not None else set(range(7))
    first_day = local(begin, zone).date() - dt.timedelta(days=1)
    times = {
        day: to_instant(dt.datetime.combine(day, at), zone)
        for day in (first_day + dt.timedelta(days=n) for n in range(11))
        if day.weekday() in allowed
    }
    assert found in times.values()
    assert found >= begin
    assert not [moment for moment in times.values() if begin <= moment < found]


@settings(max_examples=100, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2035, 12, 31)),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
)
def test_weekdays_alone_move_to_the_first_allowed_day_at_the_same_local_time(
    zone: dt.tzinfo, start: dt.datetime, weekdays: frozenset[int]
) -> None:
    begin = start.replace(tzinfo=dt.UTC)
    found = next_allowed(begin, zone, weekdays=weekdays)
    start_day = local(begin, zone).date()
    if start_day.weekday() in weekdays:
        assert found == begin
        return
    days_on = [start_day + dt.timedelta(days=n) for n in range(1, 8)]
    day = next(day for day in days_on if day.weekday() in weekdays)
    assert found == to_instant(dt.datetime.combine(day, local(begin, zone).time()), zone)
    assert found > begin


# --- zones by name ------------------------------------------------------------------------


def test_a_zone_is_found_by_its_iana_name_and_none_is_utc() -> None:
    assert zone_named("Asia/Bangkok") == BANGKOK
    assert zone_named(None) is dt.UTC


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "", "Asia/Bangkok\x00"])
def test_an_unknown_zone_is_refused_with_its_name(name: str) -> None:
    with pytest.raises(UnknownTimeZone, match=r"unknown time zone .* such as Asia/Bangkok"):
        zone_named(name)


def test_a_naive_start_or_no_weekday_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_allowed(dt.datetime(2026, 3, 2, 9), BANGKOK, at=dt.time(10))
    with pytest.raises(ValueError, match="at least one day"):
        next_allowed(utc("2026-03-02T09:00"), BANGKOK, weekdays=set())
