"""Point-in-time views and stage timelines, against expectations worked out by hand."""

from __future__ import annotations

from datetime import timedelta

from rectify.audit.timeline import stage_spans, state_at
from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR
from tests.support.given import LEAD, OTHER, POLICY, cmd, dispatcher, inspector, local, photo, report, unit

REPORT = report("timeline")
CASE = REPORT.case_id


def played(*steps: tuple[c.Command, str]) -> list:
    state, events = None, []
    for command, at in steps:
        new = decide(state, command, local(at), POLICY)
        events += new
        state = fold(new, state)
    return events


# Tuesday 24 Nov 2026 (working hours 08:30-12:00 and 14:00-17:30): reported 09:30 (street_vending: claim and
# rectify within 2 working hours, so 11:30); disputed 09:40; reassigned 10:00 (new deadlines 10:00 + 2 h = 12:00);
# at 12:00 both are missed (rung 1); claimed 14:30; submitted 15:00 (verify within 7 working hours: Wednesday
# 15:00); verified 16:00.
EVENTS = played(
    (REPORT, "2026-11-24 09:30"),
    (cmd(c.DisputeCase, unit(LEAD), case_id=CASE, reason="不属于本街道"), "2026-11-24 09:40"),
    (cmd(c.ReassignCase, dispatcher(), case_id=CASE, to_unit=OTHER, reason="改派"), "2026-11-24 10:00"),
    (cmd(c.Tick, SYSTEM_ACTOR, case_id=CASE), "2026-11-24 12:00"),
    (cmd(c.ClaimCase, unit(OTHER), case_id=CASE), "2026-11-24 14:30"),
    (
        cmd(c.SubmitRectification, unit(OTHER), case_id=CASE, evidence=(photo(),), note="已整改"),
        "2026-11-24 15:00",
    ),
    (cmd(c.VerifyCase, inspector(), case_id=CASE, passed=True, note="核查"), "2026-11-24 16:00"),
)


def test_the_case_as_it_stood_at_each_moment() -> None:
    assert state_at(EVENTS, local("2026-11-24 09:29")) is None
    at_935 = state_at(EVENTS, local("2026-11-24 09:35"))
    assert (at_935.status, at_935.lead_unit) == ("dispatched", LEAD)
    assert at_935.deadlines["claim"].due_at == local("2026-11-24 11:30")
    assert at_935.deadlines["rectify"].due_at == local("2026-11-24 11:30")
    at_1100 = state_at(EVENTS, local("2026-11-24 11:00"))
    assert (at_1100.status, at_1100.lead_unit, at_1100.reassign_count) == ("dispatched", OTHER, 1)
    assert at_1100.deadlines["claim"].due_at == local("2026-11-24 12:00")
    at_1300 = state_at(EVENTS, local("2026-11-24 13:00"))
    assert at_1300.deadlines["claim"].missed and at_1300.deadlines["rectify"].missed
    assert at_1300.escalation_level == 1  # 催办 at the missed rectification deadline
    at_1530 = state_at(EVENTS, local("2026-11-24 15:30"))
    assert at_1530.status == "submitted" and at_1530.deadlines["verify"].due_at == local("2026-11-25 15:00")
    assert state_at(EVENTS, local("2026-11-24 16:00")).status == "closed"


def test_working_time_per_stage_with_deadlines_met_and_missed() -> None:
    spans = stage_spans(EVENTS, POLICY.calendar, local("2026-11-24 17:00"))
    rows = [(s.stage, s.unit, s.started, s.ended, s.working, s.missed) for s in spans]
    h = timedelta(hours=1)
    assert rows == [
        ("claim", LEAD, local("2026-11-24 09:30"), local("2026-11-24 09:40"), h / 6, False),
        ("rectify", LEAD, local("2026-11-24 09:30"), local("2026-11-24 10:00"), h / 2, False),
        ("claim", OTHER, local("2026-11-24 10:00"), local("2026-11-24 14:30"), 2.5 * h, True),  # lunch not counted
        ("rectify", OTHER, local("2026-11-24 10:00"), local("2026-11-24 15:00"), 3 * h, True),
        ("verify", OTHER, local("2026-11-24 15:00"), local("2026-11-24 16:00"), h, False),
        ("feedback", OTHER, local("2026-11-24 16:00"), None, h, False),
    ]
