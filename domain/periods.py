"""Reporting periods in the city's time zone: ISO weeks (2026-W47), quarters (2026-Q4), date ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    """A malformed or impossible period, with what was expected."""


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # inclusive
    end: datetime  # exclusive

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()


def _at_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(zone))


def week(label: str, zone: str) -> Period:
    match = re.fullmatch(r"(\d{4})-W(\d{2})", label.strip())
    if not match:
        raise PeriodError(f"week {label!r} is not an ISO week; write it like 2026-W47")
    year, number = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise PeriodError(f"week {label!r} does not exist: {year} has no week {number}") from None
    return Period(f"{year}-W{number:02d}", _at_midnight(monday, zone), _at_midnight(monday + timedelta(days=7), zone))


def week_of(day: date, zone: str) -> Period:
    year, number, _ = day.isocalendar()
    return week(f"{year}-W{number:02d}", zone)


def previous_week(period: Period, zone: str) -> Period:
    return week_of(period.first_day - timedelta(days=7), zone)


def quarter(label: str, zone: str) -> Period:
    match = re.fullmatch(r"(\d{4})-Q([1-4])", label.strip())
    if not match:
        raise PeriodError(f"quarter {label!r} is not a quarter; write it like 2026-Q4")
    year, q = int(match[1]), int(match[2])
    first = date(year, 3 * q - 2, 1)
    after = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return Period(f"{year}-Q{q}", _at_midnight(first, zone), _at_midnight(after, zone))


def weeks_in(period: Period, zone: str) -> list[Period]:
    """The ISO weeks that start inside the period (a quarter has 13, sometimes 14)."""
    weeks: list[Period] = []
    day = period.first_day + timedelta(days=(7 - period.first_day.weekday()) % 7)
    while day <= period.last_day:
        weeks.append(week_of(day, zone))
        day += timedelta(days=7)
    return weeks


def days(first: str, last: str, zone: str) -> Period:
    try:
        a, b = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise PeriodError(f"dates {first!r} and {last!r} must be written as YYYY-MM-DD") from None
    if b < a:
        raise PeriodError(f"the period ends ({b}) before it starts ({a})")
    return Period(f"{a}..{b}", _at_midnight(a, zone), _at_midnight(b + timedelta(days=1), zone))


def refuse_future(period: Period, latest: date) -> None:
    """A period that starts after `latest` (today, or the newest recorded day) has nothing to report yet."""
    if period.first_day > latest:
        raise PeriodError(f"{period.label} starts on {period.first_day}, after {latest}: it has not happened yet")
