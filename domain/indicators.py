"""Indicators per unit and period (考核指标), from facts that each event yields. Pure: no I/O, no clock.

`facts_for(state_before, events)` turns an append into countable facts (who, what, when, how much);
the store keeps them in the `unit_facts` read model, written with the events and rebuildable from them.
`indicators(counts)` turns one unit's counts over a period into the published figures, and `score`
applies the policy's formula. docs/indicators.md spells out every numerator and denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from rectify.domain import events as e
from rectify.domain.events import Event
from rectify.domain.policy import Scoring
from rectify.domain.state import CaseState, evolve
from rectify.domain.types import CaseStatus, Frozen

#: A unit's figures for a period, by name (docs/indicators.md): counts, rates, rungs and points.
Figures = dict[str, Any]

S = CaseStatus
#: Statuses in which a missed rectification deadline still counts as overdue (the unit still owes the fix).
_OWING = frozenset({S.DISPATCHED, S.CLAIMED, S.DISPUTED, S.SUSPENDED})
COUNTED = (
    "received",
    "disputed",
    "claimed",
    "claimed_on_time",
    "submitted",
    "closed",
    "closed_on_time",
    "rework",
    "points",
    "overdue_start",
    "overdue_end",
)


class Fact(Frozen):
    """One countable thing a unit did or had happen to it. `value`: points, or working hours to close."""

    event_id: str
    case_id: str
    unit_id: str
    kind: str
    at: datetime
    value: float = 0.0


def _fact(event: e.EventBase, unit: str, kind: str, value: float = 0.0) -> Fact:
    return Fact(
        event_id=event.event_id, case_id=event.case_id, unit_id=unit, kind=kind, at=event.occurred_at, value=value
    )


def _overdue(state: CaseState | None) -> str | None:
    """The unit that owes an overdue rectification in this state, if any."""
    if state is None or state.status not in _OWING:
        return None
    deadline = state.deadlines.get("rectify")
    return state.lead_unit if deadline is not None and deadline.missed else None


def facts_for(state_before: CaseState | None, events: Sequence[Event]) -> list[Fact]:
    """The facts an append yields, folding event by event so each fact sees the case as it stood then."""
    return facts_and_state(state_before, events)[0]


def facts_and_state(state_before: CaseState | None, events: Sequence[Event]) -> tuple[list[Fact], CaseState | None]:
    """`facts_for` and the state after the events, from the same fold (the audit needs both)."""
    facts: list[Fact] = []
    state = state_before
    for event in events:
        before, state = state, evolve(state, event)
        lead = before.lead_unit if before else None

        def fact(kind: str, unit: str | None, value: float = 0.0, event: Event = event) -> None:
            if unit:
                facts.append(_fact(event, unit, kind, value))

        match event:
            case e.CaseDispatched(routing=routing):
                fact("received", routing.lead_unit)
            case e.CaseReassigned(to_unit=to_unit):
                fact("received", to_unit)
            case e.CaseDisputed():
                fact("disputed", lead)
            case e.CaseClaimed():
                fact("claimed", lead)
                claim = before.deadlines.get("claim") if before else None
                if claim is None or not claim.missed:
                    fact("claimed_on_time", lead)
            case e.RectificationSubmitted():
                fact("submitted", lead)
            case e.CaseClosed(working_hours=hours):
                fact("closed", lead, hours or 0.0)
                rectify = before.deadlines.get("rectify") if before else None
                if rectify is None or not rectify.missed:
                    fact("closed_on_time", lead)
            case e.ReworkOrdered() | e.CaseReopened():
                fact("rework", lead)
            case e.EscalationRaised(level=level, unit=unit, points=points):
                fact(f"rung_{level}", unit)
                if points:
                    fact("points", unit, points)
            case _:
                pass
        owed_before, owed_after = _overdue(before), _overdue(state)
        if owed_before != owed_after:
            if owed_before:
                fact("overdue_end", owed_before)
            if owed_after:
                fact("overdue_start", owed_after)
    return facts, state


class UnitCounts(Frozen):
    """A unit's sums over a period (and, for `open_overdue`, over all time up to the period's end)."""

    received: int = 0
    disputed: int = 0
    claimed: int = 0
    claimed_on_time: int = 0
    submitted: int = 0
    closed: int = 0
    closed_on_time: int = 0
    rework: int = 0
    rungs: dict[int, int] = Field(default_factory=dict)
    points: float = 0.0
    hours_to_close: tuple[float, ...] = ()
    open_overdue: int = 0


def _rate(numerator: int, denominator: int) -> float:
    """A share 0…1; an empty period gives 0, never a division error."""
    return round(numerator / denominator, 4) if denominator else 0.0


def indicators(c: UnitCounts) -> Figures:
    hours = sorted(c.hours_to_close)
    middle = len(hours) // 2
    median = (hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2) if hours else 0.0
    return {
        "received": c.received,
        "correctly_dispatched": c.received - c.disputed,
        "claimed": c.claimed,
        "claimed_on_time": c.claimed_on_time,
        "claim_on_time_rate": _rate(c.claimed_on_time, c.claimed),
        "closed": c.closed,
        "closed_on_time": c.closed_on_time,
        "on_time_rate": _rate(c.closed_on_time, c.closed),
        "closure_rate": _rate(c.closed, c.received),
        "rework": c.rework,
        "rework_rate": _rate(c.rework, c.submitted),
        "disputed": c.disputed,
        "dispute_rate": _rate(c.disputed, c.received),
        "rungs": {str(level): n for level, n in sorted(c.rungs.items())},
        "points": round(c.points, 2),
        "median_hours_to_close": round(median, 2),
        "mean_hours_to_close": round(sum(hours) / len(hours), 2) if hours else 0.0,
        "open_overdue": c.open_overdue,
    }


def score(figures: Figures, scoring: Scoring) -> float:
    return round(scoring.base + sum(w * float(figures[name]) for name, w in scoring.weights.items()), 2)


def ranking(per_unit: dict[str, Figures], scoring: Scoring) -> list[Figures]:
    """Units best first, with their score and place; equal scores and tie-breakers share a place."""
    rows: list[Figures] = [{"unit": u, "score": score(f, scoring), **f} for u, f in per_unit.items()]

    def key(r: Figures) -> tuple[float, int, float]:
        return (-r["score"], -r["closed_on_time"], r["points"])

    rows.sort(key=lambda r: (*key(r), r["unit"]))
    place = 0
    for index, row in enumerate(rows):
        if index == 0 or key(row) != key(rows[index - 1]):
            place = index + 1
        row["place"] = place
    return rows


def counts_from_facts(facts: Iterable[Fact], start: datetime, end: datetime) -> dict[str, UnitCounts]:
    """The same sums the store's SQL makes, in Python: for tests and for the simulation's own summary."""
    raw: dict[str, dict[str, Any]] = {}
    for f in facts:
        u = raw.setdefault(f.unit_id, {"rungs": {}, "hours": [], "overdue": 0})
        if f.kind in ("overdue_start", "overdue_end") and f.at < end:
            u["overdue"] += 1 if f.kind == "overdue_start" else -1
        if not (start <= f.at < end):
            continue
        if f.kind.startswith("rung_"):
            level = int(f.kind.removeprefix("rung_"))
            u["rungs"][level] = u["rungs"].get(level, 0) + 1
        elif f.kind == "points":
            u["points"] = u.get("points", 0.0) + f.value
        elif f.kind in COUNTED:
            u[f.kind] = u.get(f.kind, 0) + 1
            if f.kind == "closed":
                u["hours"].append(f.value)
    return {
        unit: UnitCounts(
            **{k: v for k, v in u.items() if k in UnitCounts.model_fields},
            hours_to_close=tuple(u["hours"]),
            open_overdue=u["overdue"],
        )
        for unit, u in raw.items()
    }


def proceeding_facts(events: Sequence[e.ProceedingEvent]) -> list[Fact]:
    """Facts of an accountability proceeding: the referral, and the decision with its points."""
    facts: list[Fact] = []
    for event in events:
        match event:
            case e.ProceedingOpened(unit=unit):
                facts.append(_fact(event, unit, "referred"))
            case e.ProceedingDecided(unit=unit, outcome=outcome, points=points):
                facts.append(_fact(event, unit, f"decided_{outcome}"))
                if points:
                    facts.append(_fact(event, unit, "points", points))
            case _:
                pass
    return facts
