"""Working-time arithmetic on the official calendar, exact to the minute."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rectify.city import DEFAULT_CITY_DIR, CityDataError, load_city
from rectify.domain.calendar import WorkingCalendar

CST = ZoneInfo("Asia/Shanghai")
CALENDAR: WorkingCalendar = load_city(DEFAULT_CITY_DIR).policy.calendar


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-11-23 11:50", 1, "2026-11-23 14:50"),  # across the lunch break
        ("2026-11-27 17:00", 4, "2026-11-30 12:00"),  # Friday evening to Monday, ending at the lunch break
        ("2026-11-23 11:00", 1, "2026-11-23 12:00"),  # ends exactly at a closing time: stays there
        ("2026-11-23 12:30", 1, "2026-11-23 15:00"),  # starts in the lunch break
        ("2026-11-23 13:59", 1 / 60, "2026-11-23 14:01"),
        ("2026-11-23 07:00", 1, "2026-11-23 09:30"),  # starts before the office opens
        ("2026-11-23 18:00", 1, "2026-11-24 09:30"),  # starts after it closes
        ("2026-09-30 16:00", 4, "2026-10-08 11:00"),  # across National Day, 1-7 Oct
        ("2026-10-09 17:00", 2, "2026-10-10 10:00"),  # Saturday 10 Oct is a make-up working day (调休)
        ("2026-02-13 17:00", 1, "2026-02-14 09:00"),  # Saturday 14 Feb too, before the Spring Festival
        ("2026-02-14 17:00", 1, "2026-02-24 09:00"),  # then 15-23 Feb off
        ("2026-11-23 08:30", 35, "2026-11-27 17:30"),  # five working days
    ],
)
def test_add_working_time_to_the_minute(start: str, hours: float, due: str) -> None:
    assert CALENDAR.add_working_time(at(start), timedelta(hours=hours)) == at(due)


def test_working_time_between_counts_only_opening_hours() -> None:
    assert CALENDAR.working_time_between(at("2026-11-27 17:00"), at("2026-11-30 11:30")) == timedelta(hours=3.5)
    assert CALENDAR.working_time_between(at("2026-09-30 08:30"), at("2026-10-08 08:30")) == timedelta(hours=7)
    assert CALENDAR.working_time_between(at("2026-11-24 10:00"), at("2026-11-24 09:00")) == timedelta(0)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 1)),
    minutes=st.integers(min_value=0, max_value=60 * 7 * 25),
)
def test_between_undoes_add(start: datetime, minutes: int) -> None:
    a = start.replace(tzinfo=CST)
    duration = timedelta(minutes=minutes)
    assert CALENDAR.working_time_between(a, CALENDAR.add_working_time(a, duration)) == duration


def test_the_data_file_agrees_with_chinese_calendar_for_every_known_day() -> None:
    day, disagreements = date(2025, 1, 1), []
    while day <= date(2026, 12, 31):
        if CALENDAR.is_working_day(day) != chinese_calendar.is_workday(day):
            disagreements.append(day)
        day += timedelta(days=1)
    assert disagreements == []


def test_a_year_without_an_official_schedule_is_flagged_not_guessed() -> None:
    assert CALENDAR.knows(at("2026-12-30 09:00"), at("2026-12-31 17:00"))
    assert not CALENDAR.knows(at("2026-12-31 09:00"), at("2027-01-04 17:00"))
    assert CALENDAR.is_working_day(date(2027, 1, 1))  # weekends only beyond the known years


@pytest.fixture
def city_copy(tmp_path: Path) -> Path:
    target = tmp_path / "c"
    shutil.copytree(DEFAULT_CITY_DIR, target)
    return target


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('start = "14:00"', 'start = "11:00"', "calendar.toml: period: Value error, working periods overlap"),
        ("from = 2026-10-01", 'from = "1 Oct"', r"calendar.toml: holiday\[12\]\.from: expected a date"),
        ('end = "12:00"', 'end = "07:00"', r"calendar.toml: period\.0: Value error, working period ends"),
    ],
)
def test_a_bad_calendar_is_refused_naming_file_and_field(city_copy: Path, old: str, new: str, field: str) -> None:
    path = city_copy / "calendar.toml"
    path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")
    with pytest.raises(CityDataError, match=field):
        load_city(city_copy)


def test_a_zero_stage_limit_is_refused(city_copy: Path) -> None:
    path = city_copy / "policy.toml"
    path.write_text(path.read_text("utf-8").replace("claim_hours = 2", "claim_hours = 0"), "utf-8")
    with pytest.raises(CityDataError, match=r"policy.toml: stages\.claim_hours"):
        load_city(city_copy)
