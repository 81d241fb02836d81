"""The configured day: which day a moment counts in, and when the next day begins.

Everything daily in PoolGate counts days the same way: today's calls per account, `exhausted` until
the daily reset, the worker's daily revalidation. A day begins at `POOLGATE_DAY_STARTS_AT` (`HH:MM`,
default 00:00) local time in `POOLGATE_TIMEZONE` (an IANA name, default UTC). A start that falls into
a daylight-saving gap or overlap is read as Python reads such a local time (`fold=0`), so every day
has exactly one start and the starts only move forward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; a ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC or Asia/Shanghai"
        ) from exc


@dataclass(frozen=True)
class DayBoundary:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    starts_at: time = time(0)
    # What "now" is; tests give a fixed or moving clock instead of waiting for midnight.
    clock: Callable[[], datetime] = utcnow

    def start_of(self, day: date) -> datetime:
        """The moment `day` begins, in UTC."""
        return datetime.combine(day, self.starts_at, tzinfo=self.timezone).astimezone(UTC)

    def day_of(self, moment: datetime) -> date:
        """The day `moment` (an aware datetime) counts in."""
        local_date = moment.astimezone(self.timezone).date()
        return local_date if moment >= self.start_of(local_date) else local_date - timedelta(days=1)

    def next_start(self, moment: datetime) -> datetime:
        """When the day after the one `moment` counts in begins, in UTC (always after `moment`)."""
        return self.start_of(self.day_of(moment) + timedelta(days=1))

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.day_of(self.clock())
