"""Indicators per unit and period, against counts worked out by hand (docs/indicators.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.indicators import UnitCounts, counts_from_facts, facts_for, indicators, ranking
from rectify.domain.periods import PeriodError, days, quarter, refuse_future, week, weeks_in
from rectify.domain.policy import Scoring
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR
from tests.support.given import LEAD, OTHER, POLICY, cmd, dispatcher, inspector, local, photo, report, unit

ZONE = "Asia/Shanghai"


def played(key: str, *steps: tuple[str, str, dict]) -> list:
    """Play one case: (local time, command kind, fields) after its report at the first step's time."""
    state, events = None, []
    kinds = {
        "claim": c.ClaimCase,
        "dispute": c.DisputeCase,
        "reassign": c.ReassignCase,
        "submit": c.SubmitRectification,
        "verify": c.VerifyCase,
        "tick": c.Tick,
        "reopen": c.ReopenCase,
    }
    case = report(key).case_id
    for at, kind, fields in steps:
        command = report(key) if kind == "report" else cmd(kinds[kind], fields.pop("actor"), case_id=case, **fields)
        new = decide(state, command, local(at), POLICY)
        events += new
        state = fold(new, state)
    return events


def fix(at_submit: str, at_verify: str, passed: bool = True) -> list[tuple[str, str, dict]]:
    return [
        (at_submit, "submit", {"actor": unit(), "evidence": (photo(),), "note": "已整改"}),
        (at_verify, "verify", {"actor": inspector(), "passed": passed, "note": "核查"}),
    ]


# Week 2026-W48 is Mon 23 Nov to Sun 29 Nov; street_vending allows 2 working hours to claim and to rectify.
ON_TIME = played(
    "a",
    ("2026-11-24 09:30", "report", {}),
    ("2026-11-24 09:40", "claim", {"actor": unit()}),
    *fix("2026-11-24 10:00", "2026-11-24 10:30"),
)
LATE_THEN_REWORK = played(
    "b",
    ("2026-11-24 09:30", "report", {}),
    ("2026-11-24 14:00", "tick", {"actor": SYSTEM_ACTOR}),  # 11:30 claim and rectify deadlines missed: rung 1
    ("2026-11-24 14:10", "claim", {"actor": unit()}),
    *fix("2026-11-24 15:00", "2026-11-24 15:30", passed=False),  # rework: a new rectify deadline 17:30
    *fix("2026-11-24 16:00", "2026-11-24 16:30"),  # closed on time within the new deadline
)
DISPUTED = played(
    "c",
    ("2026-11-27 16:00", "report", {}),
    ("2026-11-27 16:10", "dispute", {"actor": unit(), "reason": "不属于本街道"}),
    ("2026-11-27 16:20", "reassign", {"actor": dispatcher(), "to_unit": OTHER, "reason": "改派"}),
    ("2026-11-30 12:00", "tick", {"actor": SYSTEM_ACTOR}),  # next week: OTHER let both deadlines pass
)
EVENTS = ON_TIME + LATE_THEN_REWORK + DISPUTED


def facts() -> list:
    out, by_case = [], {}
    for event in EVENTS:
        by_case.setdefault(event.case_id, []).append(event)
    for events in by_case.values():
        out += facts_for(None, events)
    return out


def test_a_week_counted_by_hand() -> None:
    w48 = week("2026-W48", ZONE)
    figures = {u: indicators(c) for u, c in counts_from_facts(facts(), w48.start, w48.end).items()}
    lead = figures[LEAD]
    assert (lead["received"], lead["disputed"], lead["correctly_dispatched"]) == (3, 1, 2)
    assert (lead["claimed"], lead["claimed_on_time"], lead["claim_on_time_rate"]) == (2, 1, 0.5)
    assert (lead["closed"], lead["closed_on_time"], lead["on_time_rate"]) == (2, 2, 1.0)
    assert (lead["rework"], lead["rework_rate"]) == (1, round(1 / 3, 4))  # 1 rework over 3 submissions
    assert lead["closure_rate"] == round(2 / 3, 4) and lead["dispute_rate"] == round(1 / 3, 4)
    assert lead["rungs"] == {"1": 1} and lead["points"] == 0
    # Working hours from report to closure: a 1 h (09:30-10:30) and b 5 h (09:30-12:00, 14:00-16:30).
    assert (lead["median_hours_to_close"], lead["mean_hours_to_close"]) == (3.0, 3.0)
    assert lead["open_overdue"] == 0  # b's overdue episode ended when it was submitted
    other = figures[OTHER]
    assert (other["received"], other["closed"], other["on_time_rate"], other["open_overdue"]) == (1, 0, 0.0, 0)


def test_a_case_spanning_two_weeks_counts_each_fact_in_its_own_week() -> None:
    w49 = week("2026-W49", ZONE)
    figures = {u: indicators(c) for u, c in counts_from_facts(facts(), w49.start, w49.end).items()}
    assert figures[OTHER]["received"] == 0  # received in W48 …
    assert figures[OTHER]["rungs"] == {"1": 1}  # … missed in W49 …
    assert figures[OTHER]["open_overdue"] == 1  # … and still owed at the end of W49


def test_an_empty_period_gives_zeros_not_a_division_error() -> None:
    w40 = week("2026-W40", ZONE)
    empty = indicators(counts_from_facts([], w40.start, w40.end).get(LEAD, UnitCounts()))
    assert all(value == 0 or value == {} for value in empty.values())


def test_ties_share_a_place_and_are_broken_by_closed_on_time_then_points() -> None:
    scoring = Scoring(base=0, weights={"on_time_rate": 10})
    base = indicators(UnitCounts())
    rows = ranking(
        {
            "a": base | {"on_time_rate": 1.0, "closed_on_time": 3, "points": 0},
            "b": base | {"on_time_rate": 1.0, "closed_on_time": 5, "points": 0},
            "c": base | {"on_time_rate": 1.0, "closed_on_time": 5, "points": 0},
            "d": base | {"on_time_rate": 0.5, "closed_on_time": 9, "points": 0},
        },
        scoring,
    )
    assert [(r["unit"], r["place"]) for r in rows] == [("b", 1), ("c", 1), ("a", 3), ("d", 4)]


def test_periods_parse_and_refuse_what_cannot_be() -> None:
    w = week("2026-W47", ZONE)
    assert (w.first_day.isoformat(), w.last_day.isoformat()) == ("2026-11-16", "2026-11-22")
    assert len(weeks_in(quarter("2026-Q4", ZONE), ZONE)) == 13
    for bad in ("2026-47", "2026-W54", "W47"):
        with pytest.raises(PeriodError):
            week(bad, ZONE)
    with pytest.raises(PeriodError, match="ends"):
        days("2026-11-30", "2026-11-01", ZONE)
    with pytest.raises(PeriodError, match="has not happened yet"):
        refuse_future(week("2027-W01", ZONE), local("2026-11-24 00:00").date())
    assert timedelta(days=7) == w.end - w.start


def test_a_reopened_case_counts_as_rework_and_its_closure_counts_again() -> None:
    events = played(
        "r",
        ("2026-11-24 09:30", "report", {}),
        ("2026-11-24 09:40", "claim", {"actor": unit()}),
        *fix("2026-11-24 10:00", "2026-11-24 10:30"),
        ("2026-11-25 09:00", "reopen", {"actor": dispatcher(), "reason": "问题反弹"}),
        *fix("2026-11-25 10:00", "2026-11-25 10:30"),
    )
    w48 = week("2026-W48", ZONE)
    lead = indicators(counts_from_facts(facts_for(None, events), w48.start, w48.end)[LEAD])
    assert (lead["received"], lead["closed"], lead["rework"], lead["rework_rate"]) == (1, 2, 1, 0.5)
    assert lead["closure_rate"] == 2.0  # closures over cases received: a reopened case closes twice
