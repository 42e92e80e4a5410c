"""The working-time calendar (工作时): working hours, weekends, public holidays and make-up days (调休).

Deadlines counted in working time skip nights, lunch breaks, weekends and holidays, and count make-up
working days. A calendar knows the holiday schedule of some years only (the State Council publishes
each year's late in the year before); beyond them it counts weekends only and says so, never guessing.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from rectify.domain.types import Frozen


class WorkingPeriod(Frozen):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WorkingPeriod:
        if self.end <= self.start:
            raise ValueError(f"working period ends ({self.end}) before it starts ({self.start})")
        return self


DEFAULT_PERIODS = (
    WorkingPeriod(start=time(8, 30), end=time(12, 0)),
    WorkingPeriod(start=time(14, 0), end=time(17, 30)),
)


class WorkingCalendar(Frozen):
    timezone: str = "Asia/Shanghai"
    periods: Annotated[tuple[WorkingPeriod, ...], Field(min_length=1)] = DEFAULT_PERIODS
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    #: Years whose official schedule is in `holidays`/`makeup_workdays`.
    known_years: frozenset[int] = frozenset()

    @model_validator(mode="after")
    def _consistent(self) -> WorkingCalendar:
        ordered = sorted(self.periods, key=lambda p: p.start)
        for before, after in itertools.pairwise(ordered):
            if after.start < before.end:
                raise ValueError(f"working periods overlap: {before.start}-{before.end} and {after.start}-{after.end}")
        if both := self.holidays & self.makeup_workdays:
            raise ValueError(f"dates both holiday and make-up working day: {sorted(both)}")
        for day in self.holidays | self.makeup_workdays:
            if day.year not in self.known_years:
                raise ValueError(f"{day} is listed but its year {day.year} is not in known_years")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _ordered_periods(self) -> tuple[WorkingPeriod, ...]:
        return tuple(sorted(self.periods, key=lambda p: p.start))

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def knows(self, start: datetime, end: datetime) -> bool:
        """True when every year from start to end has its official schedule here (no estimate involved)."""
        first, last = start.astimezone(self.zone).year, end.astimezone(self.zone).year
        return all(year in self.known_years for year in range(first, last + 1))

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [
            (datetime.combine(day, p.start, self.zone), datetime.combine(day, p.end, self.zone))
            for p in self._ordered_periods
        ]

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start`. Exact to the microsecond.

        A duration that ends exactly at the close of a period ends there (12:00), not at the next opening.
        """
        if duration < timedelta(0):
            raise ValueError("working time to add must not be negative")
        cursor = start.astimezone(self.zone)
        if duration == timedelta(0):
            return start
        remaining = duration
        day = cursor.date()
        for _ in range(3700):  # ten years of days: far beyond any deadline, a guard against a bad calendar
            for open_at, close_at in self._windows(day):
                begin = max(cursor, open_at)
                if begin >= close_at:
                    continue
                available = close_at - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working time found within ten years: the calendar has no working days")

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from `a` to `b` (zero when `b` is not after `a`)."""
        if b <= a:
            return timedelta(0)
        a_local, b_local = a.astimezone(self.zone), b.astimezone(self.zone)
        total = timedelta(0)
        day = a_local.date()
        while day <= b_local.date():
            for open_at, close_at in self._windows(day):
                begin, end = max(a_local, open_at), min(b_local, close_at)
                if end > begin:
                    total += end - begin
            day += timedelta(days=1)
        return total
