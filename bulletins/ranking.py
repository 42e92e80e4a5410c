"""Weekly rankings, quarterly assessments and one unit's figures, from the `unit_facts` read model.

一周一排名: territorial units (streets, towns) and departments are ranked separately by the policy's
score formula, with each unit's change of place since the week before. 一季度一考核: the same
indicators over the quarter, plus the mean of the quarter's weekly scores.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from rectify.domain.indicators import UnitCounts, indicators, ranking, score
from rectify.domain.periods import Period, days, previous_week, quarter, refuse_future, week, weeks_in
from rectify.domain.policy import Policy, UnitKind
from rectify.store import EventStore

GROUPS = {"territorial": (UnitKind.STREET, UnitKind.TOWN), "departments": (UnitKind.DEPARTMENT,)}


class UnknownUnitError(ValueError):
    pass


async def _latest_day(store: EventStore, policy: Policy, today: date) -> date:
    latest = await store.latest_event_time()
    recorded = latest.astimezone(policy.calendar.zone).date() if latest else today
    return max(today, recorded)


async def period_figures(store: EventStore, policy: Policy, period: Period) -> dict[str, dict]:
    """Indicators for every unit of a ranked kind (zeros when it had nothing), and for any other unit with facts."""
    counts = await store.unit_counts(period.start, period.end)
    ranked = {u.id for u in policy.units.values() if any(u.kind in kinds for kinds in GROUPS.values())}
    return {unit: indicators(counts.get(unit, UnitCounts())) for unit in sorted(ranked | set(counts))}


def _grouped(figures: dict[str, dict], policy: Policy) -> dict[str, list[dict]]:
    out = {}
    for group, kinds in GROUPS.items():
        members = {u: f for u, f in figures.items() if (unit := policy.units.get(u)) and unit.kind in kinds}
        rows = ranking(members, policy.scoring)
        for row in rows:
            row["name"] = policy.units[row["unit"]].name
        out[group] = rows
    return out


async def weekly(store: EventStore, policy: Policy, label: str, today: date | None = None) -> dict:
    zone = policy.timezone
    period = week(label, zone)
    refuse_future(period, await _latest_day(store, policy, today or datetime.now(UTC).date()))
    groups = _grouped(await period_figures(store, policy, period), policy)
    before = _grouped(await period_figures(store, policy, previous_week(period, zone)), policy)
    for group, rows in groups.items():
        # A unit with nothing the week before had no place worth comparing with.
        places = {r["unit"]: r["place"] for r in before[group] if r["received"] or r["closed"] or r["points"]}
        for row in rows:
            row["previous_place"] = places.get(row["unit"])
            row["change"] = places[row["unit"]] - row["place"] if row["unit"] in places else None
    return {"period": _period_json(period), "scoring": policy.scoring.model_dump(), "groups": groups}


async def quarterly(store: EventStore, policy: Policy, label: str, today: date | None = None) -> dict:
    zone = policy.timezone
    period = quarter(label, zone)
    refuse_future(period, await _latest_day(store, policy, today or datetime.now(UTC).date()))
    groups = _grouped(await period_figures(store, policy, period), policy)
    weekly_scores: dict[str, list[float]] = {}
    for w in weeks_in(period, zone):
        for unit, figures in (await period_figures(store, policy, w)).items():
            weekly_scores.setdefault(unit, []).append(score(figures, policy.scoring))
    for rows in groups.values():
        for row in rows:
            scores = weekly_scores.get(row["unit"], [])
            row["mean_weekly_score"] = round(sum(scores) / len(scores), 2) if scores else None
    return {"period": _period_json(period), "weeks": len(weeks_in(period, zone)), "groups": groups}


async def weekly_trend(store: EventStore, policy: Policy, last: str, count: int) -> dict:
    """The `count` weeks up to and including `last`, oldest first, each with every ranked unit's figures and score."""
    zone = policy.timezone
    weeks = [week(last, zone)]
    while len(weeks) < count:
        weeks.insert(0, previous_week(weeks[0], zone))
    out = []
    for period in weeks:
        figures = await period_figures(store, policy, period)
        out.append(
            {
                "period": _period_json(period),
                "units": {u: {**f, "score": score(f, policy.scoring)} for u, f in figures.items() if u in policy.units},
            }
        )
    return {
        "weeks": out,
        "groups": {g: [u.id for u in policy.units.values() if u.kind in k] for g, k in GROUPS.items()},
    }


async def unit_figures(
    store: EventStore, policy: Policy, unit: str, first: str, last: str, today: date | None = None
) -> dict:
    if unit not in policy.units:
        known = ", ".join(sorted(u for u in policy.units if not u.startswith("office_")))
        raise UnknownUnitError(f"no unit {unit!r} in {policy.city}; known units: {known}")
    period = days(first, last, policy.timezone)
    refuse_future(period, await _latest_day(store, policy, today or datetime.now(UTC).date()))
    counts = await store.unit_counts(period.start, period.end)
    figures = indicators(counts.get(unit, UnitCounts()))
    return {
        "unit": unit,
        "name": policy.units[unit].name,
        "period": _period_json(period),
        **figures,
        "score": score(figures, policy.scoring),
    }


def _period_json(period: Period) -> dict:
    return {"label": period.label, "from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
