"""Point-in-time views and timelines of a case, folded from its events alone.

`state_at` answers "how did the case stand at that moment" (events that had happened by then);
`stage_spans` says how much working time each stage took, against which deadline, met or missed.
Suspended time is not counted against the unit, as the rules say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rectify.domain import events as e
from rectify.domain.calendar import WorkingCalendar
from rectify.domain.events import Event
from rectify.domain.state import CaseState, fold


def state_at(events: Sequence[Event], at: datetime) -> CaseState | None:
    """The case as it stood at `at`: every event that had occurred by then, folded. None before the report."""
    return fold(ev for ev in events if ev.occurred_at <= at)


@dataclass(frozen=True)
class StageSpan:
    """One pass through a stage: when it started and ended, working time spent, its deadline, met or not."""

    stage: str
    started: datetime
    ended: datetime | None
    working: timedelta
    due_at: datetime | None
    missed: bool
    unit: str | None

    def as_json(self) -> dict:
        return {
            "stage": self.stage,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
            "working_hours": round(self.working.total_seconds() / 3600, 2),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "missed": self.missed,
            "unit": self.unit,
        }


#: Which event opens a stage and which events close it.
_OPENS = {
    "claim": (e.CaseDispatched, e.CaseReassigned, e.DispatchUpheld),
    "rectify": (e.CaseDispatched, e.CaseReassigned, e.ReworkOrdered, e.CaseReopened),
    "verify": (e.RectificationSubmitted,),
    "feedback": (e.CaseClosed,),
}
_CLOSES = {
    "claim": (e.CaseClaimed, e.CaseDisputed, e.CaseReassigned),
    "rectify": (e.RectificationSubmitted, e.CaseReassigned),
    "verify": (e.CaseClosed, e.ReworkOrdered),
    "feedback": (e.FeedbackRecorded, e.CaseReopened),
}
_ENDS = (e.CaseRejected, e.CaseWithdrawn, e.CaseMerged)


def stage_spans(events: Sequence[Event], calendar: WorkingCalendar, now: datetime) -> list[StageSpan]:
    """Every stage pass in order of its start; an open one runs until `now`."""
    suspended = _suspensions(events, now)
    open_spans: dict[str, dict] = {}
    done: list[StageSpan] = []
    lead: str | None = None

    def spent(a: datetime, b: datetime) -> timedelta:
        return calendar.working_time_between(a, b) - _overlap(calendar, suspended, a, b)

    def close(stage: str, at: datetime) -> None:
        span = open_spans.pop(stage)
        working = spent(span["started"], at)
        done.append(StageSpan(stage, span["started"], at, working, span["due_at"], span["missed"], span["unit"]))

    for event in events:
        if isinstance(event, e.CaseDispatched):
            lead = event.routing.lead_unit
        elif isinstance(event, e.CaseReassigned):
            lead = event.to_unit
        for stage, closers in _CLOSES.items():
            if stage in open_spans and isinstance(event, closers):
                close(stage, event.occurred_at)
        if isinstance(event, _ENDS):
            for stage in list(open_spans):
                close(stage, event.occurred_at)
        for stage, openers in _OPENS.items():
            if isinstance(event, openers) and stage not in open_spans:
                open_spans[stage] = {"started": event.occurred_at, "due_at": None, "missed": False, "unit": lead}
        if isinstance(event, e.DeadlineSet) and event.stage in open_spans:
            open_spans[event.stage]["due_at"] = event.due_at
        if isinstance(event, e.DeadlineMissed) and event.stage in open_spans:
            open_spans[event.stage]["missed"] = True
    for stage, span in list(open_spans.items()):
        working = spent(span["started"], now)
        done.append(StageSpan(stage, span["started"], None, working, span["due_at"], span["missed"], span["unit"]))
    return sorted(done, key=lambda s: (s.started, list(_OPENS).index(s.stage)))


def _suspensions(events: Sequence[Event], now: datetime) -> list[tuple[datetime, datetime]]:
    spans, since = [], None
    for event in events:
        if isinstance(event, e.CaseSuspended):
            since = event.occurred_at
        elif isinstance(event, e.CaseResumed) and since is not None:
            spans.append((since, event.occurred_at))
            since = None
    if since is not None:
        spans.append((since, now))
    return spans


def _overlap(calendar: WorkingCalendar, spans: list[tuple[datetime, datetime]], a: datetime, b: datetime) -> timedelta:
    """Working time between a and b that the case spent suspended."""
    total = timedelta(0)
    for start, end in spans:
        lo, hi = max(start, a), min(end, b)
        if hi > lo:
            total += calendar.working_time_between(lo, hi)
    return total
