"""The figures of a run, counted from the stored events alone: `summarize(events)`.

Nothing the simulation loop counted itself goes in here, so every number in `summary.json` can be
recomputed by anyone who can read the event store (`rectify simulate` does it once more at the end).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rectify.domain import events as e
from rectify.domain.events import StoredEvent, parse_event
from rectify.domain.policy import Policy
from rectify.store import EventStore

_ENDED = (e.CaseClosed, e.CaseRejected, e.CaseWithdrawn, e.CaseMerged)


@dataclass
class _Case:
    lead: str = ""  # the lead unit, once the case is dispatched
    open: bool = True
    rectify_missed: bool = False
    submitted_on_time: bool = False


@dataclass
class UnitFigures:
    received: int = 0
    claimed: int = 0
    claims_late: int = 0
    disputed: int = 0
    submitted: int = 0
    closed: int = 0
    closed_on_time: int = 0
    rework: int = 0
    extensions_granted: int = 0
    escalations: Counter = field(default_factory=Counter)
    points: float = 0.0

    def as_json(self, name: str, kind: str, rungs: list[str]) -> dict:
        return {
            "name": name,
            "kind": kind,
            "received": self.received,
            "claimed": self.claimed,
            "claims_late": self.claims_late,
            "disputed": self.disputed,
            "submitted": self.submitted,
            "closed": self.closed,
            "closed_on_time": self.closed_on_time,
            "on_time_rate": round(self.closed_on_time / self.closed, 4) if self.closed else None,
            "rework": self.rework,
            "extensions_granted": self.extensions_granted,
            "escalations": {rung: self.escalations.get(rung, 0) for rung in rungs},
            "points": round(self.points, 2),
        }


class Summary:
    """Counts events as they stream past (a month at city scale does not fit in memory as objects)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.zone = ZoneInfo(policy.timezone)
        self.units: defaultdict[str, UnitFigures] = defaultdict(UnitFigures)
        self.cases: dict[str, _Case] = {}
        self.daily: defaultdict[date, Counter] = defaultdict(Counter)
        #: (ISO week, unit) -> the figures a weekly bulletin prints, counted here independently of unit_facts.
        #: (A Counter, so a missing figure reads 0; its points are floats, which a Counter adds as well.)
        self.weekly: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)

    def add(self, event: StoredEvent) -> None:
        units = self.units
        day = event.occurred_at.astimezone(self.zone).date()
        counts = self.daily[day]
        self._count_week(event, day)
        case = self.cases.setdefault(event.case_id, _Case())
        match event:
            case e.CaseReported():
                counts["reported"] += 1
                counts["open_delta"] += 1
            case e.CaseDispatched(routing=routing):
                case.lead = routing.lead_unit
                units[case.lead].received += 1
            case e.CaseReassigned(to_unit=to_unit):
                case.lead = to_unit
                units[to_unit].received += 1
            case e.CaseClaimed():
                units[case.lead].claimed += 1
            case e.CaseDisputed():
                units[case.lead].disputed += 1
            case e.DeadlineSet(stage="rectify"):
                case.rectify_missed = False
            case e.DeadlineMissed(stage=stage, unit=unit):
                if stage == "rectify":
                    case.rectify_missed = True
                if stage == "claim" and unit:
                    units[unit].claims_late += 1
            case e.RectificationSubmitted():
                units[case.lead].submitted += 1
                case.submitted_on_time = not case.rectify_missed
            case e.ReworkOrdered():
                units[case.lead].rework += 1
            case e.ExtensionGranted():
                units[case.lead].extensions_granted += 1
            case e.EscalationRaised(rung=rung, unit=unit, points=points):
                units[unit].escalations[rung] += 1
                units[unit].points += points
                counts[f"rung:{rung}"] += 1
            case e.ProceedingDecided(unit=unit, points=points):
                units[unit].points += points  # 问责 decisions cost points too
            case e.CaseReopened():
                case.open = True
                counts["open_delta"] += 1
                counts["reopened"] += 1
        if isinstance(event, e.CaseClosed):
            units[case.lead].closed += 1
            units[case.lead].closed_on_time += case.submitted_on_time
            counts["closed"] += 1
        if isinstance(event, _ENDED) and case.open:
            case.open = False
            counts["open_delta"] -= 1
            if not isinstance(event, e.CaseClosed):
                counts["ended_otherwise"] += 1

    def _count_week(self, event: StoredEvent, day: date) -> None:
        year, number, _ = day.isocalendar()
        label = f"{year}-W{number:02d}"
        case = self.cases.get(event.case_id)
        match event:
            case e.CaseDispatched(routing=routing):
                self.weekly[label, routing.lead_unit]["received"] += 1
            case e.CaseReassigned(to_unit=to_unit):
                self.weekly[label, to_unit]["received"] += 1
            case e.EscalationRaised(unit=unit, points=points, level=level):
                self.weekly[label, unit]["points"] += points  # pyright: ignore[reportArgumentType]
                self.weekly[label, unit][f"rung_{level}"] += 1
            case e.ProceedingDecided(unit=unit, points=points):
                self.weekly[label, unit]["points"] += points  # pyright: ignore[reportArgumentType]
            case e.CaseClosed() if case is not None:
                self.weekly[label, case.lead]["closed"] += 1
                self.weekly[label, case.lead]["closed_on_time"] += case.submitted_on_time
            case _:
                pass

    def weeks(self) -> dict:
        out: dict[str, dict[str, dict]] = {}
        for (label, unit), c in sorted(self.weekly.items()):
            rungs = {k.removeprefix("rung_"): v for k, v in sorted(c.items()) if k.startswith("rung_")}
            out.setdefault(label, {})[unit] = {
                "received": c["received"],
                "closed": c["closed"],
                "closed_on_time": c["closed_on_time"],
                "points": round(c["points"], 2),
                "rungs": rungs,
            }
        return out

    def result(self) -> dict:
        rungs = [r.name for r in self.policy.ladder]
        names = {u.id: (u.name, u.kind.value) for u in self.policy.units.values()}
        per_unit = {
            unit: figures.as_json(*names.get(unit, (unit, "unknown")), rungs)
            for unit, figures in sorted(self.units.items())
        }
        totals: dict = {
            key: sum(u[key] for u in per_unit.values())
            for key in (
                "received",
                "claimed",
                "claims_late",
                "disputed",
                "submitted",
                "closed",
                "closed_on_time",
                "rework",
                "extensions_granted",
            )
        }
        totals["reported"] = sum(c["reported"] for c in self.daily.values())
        totals["escalations"] = {rung: sum(u["escalations"][rung] for u in per_unit.values()) for rung in rungs}
        totals["points"] = round(sum(u["points"] for u in per_unit.values()), 2)
        totals["on_time_rate"] = round(totals["closed_on_time"] / totals["closed"], 4) if totals["closed"] else None
        daily, open_now = [], 0
        for day, counts in sorted(self.daily.items()):  # events come per case, not in time order: sum per day
            open_now += counts["open_delta"]
            daily.append(
                {
                    "date": day.isoformat(),
                    "reported": counts["reported"],
                    "closed": counts["closed"],
                    "reopened": counts["reopened"],
                    "ended_otherwise": counts["ended_otherwise"],
                    "open_at_end": open_now,
                    "escalations": {rung: counts[f"rung:{rung}"] for rung in rungs},
                }
            )
        totals["open_at_end"] = open_now
        return {"totals": totals, "units": per_unit, "daily": daily, "weeks": self.weeks()}


def summarize(events: Iterable[StoredEvent], policy: Policy) -> dict:
    """Per unit and per day figures from events in stored order."""
    summary = Summary(policy)
    for event in events:
        summary.add(event)
    return summary.result()


async def summarize_store(store: EventStore, policy: Policy, until: datetime | None = None) -> dict:
    """The same figures, streamed from the store in pages: what `summary.json` must always equal.

    `until`: count only what happened before it (the real engine's clock runs on for a few seconds while
    it shuts down, and a timer due in those seconds may still fire).
    """
    summary = Summary(policy)
    async for record in store.read_all(batch_size=5000):
        event = parse_event(record.body)
        if until is None or event.occurred_at < until:
            summary.add(event)
    return summary.result()
