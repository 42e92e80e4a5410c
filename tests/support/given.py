"""Small builders for decider tests: given(events) / when(command) / then(events or error)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rectify.domain import commands as c
from rectify.domain.accountability import OpenProceeding
from rectify.domain.calendar import WorkingCalendar
from rectify.domain.decider import case_id_for, decide
from rectify.domain.events import Event, MissedDeadline
from rectify.domain.policy import Category, Policy, Unit
from rectify.domain.state import CaseState, fold
from rectify.domain.types import SYSTEM_ACTOR, Actor, Channel, EvidenceRef, Point, Role, Routing

T0 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in the city
LEAD, OTHER, DEPT = "st_a", "st_b", "dept_x"
POLICY = Policy(
    city="测试区",
    version="t1",
    units={
        LEAD: Unit(id=LEAD, name="甲街道", kind="street"),
        OTHER: Unit(id=OTHER, name="乙街道", kind="street"),
        DEPT: Unit(id=DEPT, name="城管局", kind="department"),
        "office_command": Unit(id="office_command", name="指挥中心", kind="office"),
    },
    categories={
        "street_vending": Category(
            code="street_vending", name="占道经营", lead_department=DEPT, rectify_limit_hours=2, duplicate_radius_m=50
        ),
        "illegal_structures": Category(
            code="illegal_structures",
            name="乱搭乱建",
            lead_department=DEPT,
            rectify_limit_hours=49,
            duplicate_radius_m=100,
        ),
        # An urgent category: its rectification limit counts clock hours (自然时), nights and weekends included.
        "open_manhole": Category(
            code="open_manhole",
            name="井盖缺失",
            lead_department=DEPT,
            rectify_limit_hours=4,
            limit_kind="natural",
            duplicate_radius_m=20,
        ),
    },
    reopen_window_days=30,
    calendar=WorkingCalendar(known_years=frozenset({2025, 2026, 2027})),  # a test city with no public holidays
)

_ids = itertools.count()


def reporter(unit_id: str = "citizen") -> Actor:
    return Actor(unit_id=unit_id, role=Role.REPORTER)


def dispatcher() -> Actor:
    return Actor(unit_id="office_command", role=Role.DISPATCHER)


def inspector() -> Actor:
    return Actor(unit_id="office_command", role=Role.INSPECTOR)


def auditor() -> Actor:
    return Actor(unit_id="audit", role=Role.AUDITOR)


def unit(unit_id: str = LEAD) -> Actor:
    return Actor(unit_id=unit_id, role=Role.UNIT)


def photo() -> EvidenceRef:
    return EvidenceRef(sha256="c" * 64, size=10, media_type="image/jpeg")


def routing(lead_unit: str = LEAD) -> Routing:
    return Routing(lead_unit=lead_unit, territorial_unit=LEAD, grid_id="g1", rule="territorial")


KEY = "report-1"
CASE = case_id_for(KEY)


def report(key: str = KEY, **overrides: object) -> c.ReportCase:
    fields = {
        "command_id": f"cmd-{next(_ids)}",
        "case_id": case_id_for(key),
        "actor": reporter(),
        "idempotency_key": key,
        "category": "street_vending",
        "description": "人行道上有流动摊贩",
        "location": Point(lon=106.57, lat=29.6),
        "channel": Channel.SNAPSHOT,
        "routing": routing(),
    } | overrides
    return c.ReportCase(**fields)


def cmd(kind: type[c.CommandBase], actor: Actor, case_id: str = CASE, **fields: object) -> c.Command:
    return kind(command_id=f"cmd-{next(_ids)}", case_id=case_id, actor=actor, **fields)


def claim(actor: Actor | None = None) -> c.Command:
    return cmd(c.ClaimCase, actor or unit())


def submit(actor: Actor | None = None) -> c.Command:
    return cmd(c.SubmitRectification, actor or unit(), evidence=(photo(),), note="已整改")


def verify(passed: bool, actor: Actor | None = None) -> c.Command:
    return cmd(c.VerifyCase, actor or inspector(), passed=passed, note="核查")


def tick() -> c.Command:
    return cmd(c.Tick, SYSTEM_ACTOR)


def dispute(actor: Actor | None = None) -> c.Command:
    return cmd(c.DisputeCase, actor or unit(), reason="不属于本单位")


def given(
    *commands: c.Command, start: datetime = T0, step: timedelta = timedelta(minutes=10), policy: Policy = POLICY
) -> CaseState | None:
    """The state after `commands` were accepted one after another, `step` apart."""
    state: CaseState | None = None
    events: list[Event] = []
    for i, command in enumerate(commands):
        new = decide(state, command, start + i * step, policy)
        events += new
        state = fold(new, state)
    assert fold(events) == state
    return state


def given_at(
    *steps: tuple[datetime, c.Command], state: CaseState | None = None, policy: Policy = POLICY
) -> CaseState | None:
    """The state after each command was accepted at its own moment, in the order given (after `state`)."""
    for at, command in steps:
        state = fold(decide(state, command, at, policy), state)
    return state


def when(
    state: CaseState | None, command: c.Command, at: datetime | None = None, policy: Policy = POLICY
) -> list[Event]:
    return decide(state, command, at or T0 + timedelta(hours=1), policy)


def local(text: str) -> datetime:
    """A wall-clock time in the city, e.g. local("2026-11-24 16:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def reported(key: str, at: datetime = T0) -> list[Event]:
    """The events of a report whose text and evidence exercise the store's encoding (quotes, ¥, a photo's place)."""
    command = c.ReportCase(
        command_id=f"report-{key}",
        case_id=case_id_for(key),
        actor=reporter(),
        idempotency_key=key,
        category="street_vending",
        description="人行道上有摊贩，价格 ¥12.5，“占道”",
        location=Point(lon=106.574321, lat=29.581234),
        channel=Channel.SNAPSHOT,
        routing=Routing(lead_unit=LEAD, territorial_unit=LEAD, grid_id="g-01", rule="territorial"),
        evidence=(
            EvidenceRef(sha256="ab" * 32, size=1234, media_type="image/jpeg", location=Point(lon=1.5, lat=2.25)),
        ),
    )
    return decide(None, command, at, POLICY)


def claimed(state: CaseState, n: int = 0) -> list[Event]:
    """The lead unit's claim of `state`'s case; `n` tells rival claims apart (each its own command id)."""
    command = c.ClaimCase(command_id=f"claim-{state.case_id}-{n}", case_id=state.case_id, actor=unit())
    return decide(state, command, T0 + timedelta(minutes=5), POLICY)


PROCEEDING = "acc-case-1-9"


def referral(actor: Actor = SYSTEM_ACTOR) -> OpenProceeding:
    """The ladder's referral of LEAD for a missed rectification: the first command of proceeding PROCEEDING."""
    return OpenProceeding(
        command_id=f"cmd-{next(_ids)}",
        case_id=PROCEEDING,
        actor=actor,
        subject_case_id="case-1",
        unit=LEAD,
        responsible_role=None,
        missed=(MissedDeadline(stage="rectify", due_at=T0),),
    )
