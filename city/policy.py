"""The policy from a city folder: city.toml, units.toml, categories.toml, policy.toml and calendar.toml."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import ValidationError

from rectify.city.errors import CityDataError, validation_error
from rectify.city.points import load_inspection
from rectify.city.reader import Reader
from rectify.domain.calendar import WorkingCalendar
from rectify.domain.policy import (
    DEFAULT_LADDER,
    AccountabilityRules,
    Category,
    ExtensionLimits,
    Policy,
    Rung,
    Scoring,
    StageLimits,
    TextLimits,
    Unit,
)


def load_policy(r: Reader) -> Policy:
    city = r.toml("city.toml")
    units_raw = r.toml("units.toml").get("unit", [])
    categories_raw = r.toml("categories.toml").get("category", [])
    units: dict[str, Unit] = {}
    for i, raw in enumerate(units_raw):
        try:
            unit = Unit.model_validate(raw)
        except ValidationError as error:
            raise validation_error(r.name("units.toml"), f"unit[{i}]", error) from None
        if unit.id in units:
            raise r.error("units.toml", f"unit[{i}].id", f"duplicate unit id {unit.id!r}")
        units[unit.id] = unit
    categories: dict[str, Category] = {}
    for i, raw in enumerate(categories_raw):
        try:
            category = Category.model_validate(raw)
        except ValidationError as error:
            raise validation_error(r.name("categories.toml"), f"category[{i}]", error) from None
        if category.lead_department not in units:
            raise r.error(
                "categories.toml",
                f"category[{i}].lead_department",
                f"unknown unit {category.lead_department!r} (not in units.toml)",
            )
        if category.code in categories:
            raise r.error("categories.toml", f"category[{i}].code", f"duplicate category code {category.code!r}")
        categories[category.code] = category
    if not categories:
        raise r.error("categories.toml", "category", "no categories defined")
    calendar = load_calendar(r)
    inspection = load_inspection(r, units, categories)
    rules = r.toml("policy.toml")

    def section(model: type, raw: object, prefix: str) -> object:
        try:
            return model.model_validate(raw)
        except ValidationError as error:
            raise validation_error(r.name("policy.toml"), prefix, error) from None

    rungs = tuple(section(Rung, x, f"rung[{i}]") for i, x in enumerate(rules.get("rung", [])))
    timing = {
        "stages": section(StageLimits, rules.get("stages", {}), "stages"),
        "ladder": rungs or DEFAULT_LADDER,
        "extensions": section(ExtensionLimits, rules.get("extensions", {}), "extensions"),
        "scoring": section(Scoring, rules.get("scoring", {}), "scoring"),
        "accountability": section(AccountabilityRules, rules.get("accountability", {}), "accountability"),
        "text": section(TextLimits, rules.get("text", {}), "text"),
    }
    fields = {
        k: city[k] for k in ("timezone", "dispatcher_units", "reopen_window_days", "description_max_chars") if k in city
    }
    try:
        policy = Policy(
            city=city.get("name", ""),
            version=str(city.get("version", "")),
            units=units,
            categories=categories,
            calendar=calendar,
            inspection=inspection,
            **timing,
            **fields,
        )
    except ValidationError as error:
        ladder = any(e["loc"] and str(e["loc"][0]) == "ladder" for e in error.errors())
        raise validation_error(r.name("policy.toml" if ladder else "city.toml"), "", error) from None
    for i, unit_id in enumerate(policy.dispatcher_units):
        if unit_id not in units:
            raise r.error("city.toml", f"dispatcher_units[{i}]", f"unknown unit {unit_id!r} (not in units.toml)")
    return policy


def load_calendar(r: Reader) -> WorkingCalendar:
    """Working periods, holidays (as date ranges) and make-up working days from calendar.toml."""
    raw = r.toml("calendar.toml")
    file = r.name("calendar.toml")
    holidays: set[date] = set()
    for i, holiday in enumerate(raw.get("holiday", [])):
        if unknown := set(holiday) - {"name", "from", "to"}:
            raise CityDataError(
                file, f"holiday[{i}].{sorted(unknown)[0]}", "unknown field (a key after [[holiday]] belongs to it)"
            )
        start, end = holiday.get("from"), holiday.get("to")
        for key, value in (("from", start), ("to", end)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise CityDataError(file, f"holiday[{i}].{key}", f"expected a date like 2026-10-01, got {value!r}")
        if end < start:
            raise CityDataError(file, f"holiday[{i}].to", f"ends ({end}) before it starts ({start})")
        holidays.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    makeup = raw.get("makeup_workdays", [])
    for i, day in enumerate(makeup):
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CityDataError(file, f"makeup_workdays[{i}]", f"expected a date like 2026-10-10, got {day!r}")
    periods = [{"start": p.get("start"), "end": p.get("end")} for p in raw.get("period", [])]
    try:
        return WorkingCalendar.model_validate(
            {
                "timezone": raw.get("timezone", "Asia/Shanghai"),
                "known_years": raw.get("known_years", []),
                "holidays": holidays,
                "makeup_workdays": set(makeup),
                **({"periods": periods} if periods else {}),
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).replace("periods", "period")
        field = field or ("period" if "period" in first["msg"] else "holiday")
        raise CityDataError(file, field, first["msg"]) from None
