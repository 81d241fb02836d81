"""The configured day: which day a moment counts in and when the next begins, in any zone, from any
local start time, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.day_boundary import DayBoundary
from shared.settings import BaseServiceSettings

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
]


def test_utc_midnight_by_default():
    days = DayBoundary()
    assert days.day_of(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert days.day_of(datetime(2026, 3, 2, 0, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert days.next_start(datetime(2026, 3, 1, 12, tzinfo=UTC)) == datetime(2026, 3, 2, tzinfo=UTC)


def test_a_zone_and_a_start_time_move_the_boundary():
    beijing = DayBoundary(timezone=ZoneInfo("Asia/Shanghai"))
    # 16:00 UTC is midnight in Beijing.
    assert beijing.day_of(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert beijing.day_of(datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert beijing.next_start(datetime(2026, 3, 1, 10, tzinfo=UTC)) == datetime(2026, 3, 1, 16, tzinfo=UTC)
    four_am = DayBoundary(timezone=ZoneInfo("Asia/Shanghai"), starts_at=time(4))
    # 03:59 local on 2 March still counts in 1 March.
    assert four_am.day_of(datetime(2026, 3, 1, 19, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert four_am.day_of(datetime(2026, 3, 1, 20, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_daylight_saving_days_are_23_and_25_hours_long():
    new_york = DayBoundary(timezone=ZoneInfo("America/New_York"))
    spring, autumn = date(2026, 3, 8), date(2026, 11, 1)
    assert new_york.start_of(spring + timedelta(days=1)) - new_york.start_of(spring) == timedelta(hours=23)
    assert new_york.start_of(autumn + timedelta(days=1)) - new_york.start_of(autumn) == timedelta(hours=25)
    # A start inside the spring gap (02:30 does not exist that day) is still one moment that day.
    gap = DayBoundary(timezone=ZoneInfo("America/New_York"), starts_at=time(2, 30))
    start = gap.start_of(spring)
    assert gap.day_of(start) == spring and gap.day_of(start - timedelta(seconds=1)) == spring - timedelta(
        days=1
    )


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(ZONES),
    starts_at=st.times(),
)
def test_every_moment_lies_in_its_day_and_before_the_next(moment, zone, starts_at):
    days = DayBoundary(timezone=ZoneInfo(zone), starts_at=starts_at)
    day = days.day_of(moment)
    assert days.start_of(day) <= moment < days.next_start(moment)
    assert days.next_start(moment) == days.start_of(day + timedelta(days=1))
    assert days.day_of(days.next_start(moment)) == day + timedelta(days=1)


def test_the_clock_is_injected():
    now = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    days = DayBoundary(timezone=ZoneInfo("Asia/Shanghai"), clock=lambda: now)
    assert (days.now(), days.today()) == (now, date(2026, 3, 2))


def test_settings_name_the_zone_and_start(monkeypatch):
    monkeypatch.setenv("POOLGATE_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("POOLGATE_DAY_STARTS_AT", "04:30")
    days = BaseServiceSettings().day_boundary()
    assert (days.timezone, days.starts_at) == (ZoneInfo("Asia/Shanghai"), time(4, 30))
    assert BaseServiceSettings(timezone="UTC").day_boundary().timezone == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("timezone", "../../etc/passwd", "unknown time zone"),
        ("day_starts_at", "25:00", "day_starts_at"),
        ("day_starts_at", "04:00+08:00", "without an offset"),
    ],
)
def test_a_bad_zone_or_start_is_refused_by_name(setting, value, named):
    with pytest.raises(ValidationError, match=named):
        BaseServiceSettings(**{setting: value})
