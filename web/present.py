"""How the record reads on a page: times in the city's zone, working-time countdowns, events in words,
each stage's deadlines met or missed, and the rungs. Pure functions of events, policy and `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rectify.domain import events as e
from rectify.domain.deadlines import Stage, rung_moment
from rectify.domain.escalation import ACTIVE_IN
from rectify.domain.labels import local_time, zone
from rectify.domain.policy import LimitKind, Policy
from rectify.domain.state import CaseState, evolve
from rectify.domain.types import Actor, CaseStatus, Role
from rectify.web.labels import ACTOR_ROLE, CHANNEL, OUTCOME, ROUTING_RULE, STAGE, category_name, label, rung, unit_name

#: `2026-12-03 10:30` in the city's time zone (one rule with the notices: domain/labels.py).
local = local_time


def short(policy: Policy, ts: datetime | None) -> str:
    return ts.astimezone(zone(policy.timezone)).strftime("%m-%d %H:%M") if ts else "—"


@dataclass(frozen=True)
class Countdown:
    text: str
    #: late (past due), soon (under one working period), ok
    tone: str


def countdown(policy: Policy, due: datetime | None, now: datetime, *, natural: bool = False) -> Countdown | None:
    """剩余 3.5 工作小时 / 超期 2.0 工作小时, on the city's working calendar (or the clock for natural limits)."""
    if due is None:
        return None
    unit = "小时" if natural else "工作小时"

    def hours(a: datetime, b: datetime) -> float:
        span = (b - a) if natural else policy.calendar.working_time_between(a, b)
        return span.total_seconds() / 3600

    if now >= due:
        return Countdown(f"超期 {hours(due, now):.1f} {unit}", "late")
    left = hours(now, due)
    return Countdown(f"剩余 {left:.1f} {unit}", "soon" if left < 2 else "ok")


def is_natural(policy: Policy, stage: str, category: str) -> bool:
    spec = policy.categories.get(category)
    return stage == Stage.RECTIFY and spec is not None and spec.limit_kind is LimitKind.NATURAL


def row_countdown(policy: Policy, status: str, category: str, due: datetime | None, now: datetime) -> Countdown | None:
    """The list's countdown: the rectification deadline while that clock runs."""
    if status not in {s.value for s in ACTIVE_IN[Stage.RECTIFY]}:
        return None
    return countdown(policy, due, now, natural=is_natural(policy, Stage.RECTIFY, category))


def who(policy: Policy, actor: Actor) -> str:
    """观音桥街道 · 责任单位; 举报人（app_wechat）; 系统."""
    if actor.role is Role.SYSTEM:
        return "系统"
    if actor.role is Role.REPORTER:
        return f"举报人（{actor.unit_id}）"
    return f"{unit_name(policy, actor.unit_id)} · {label(ACTOR_ROLE, actor.role)}"


def describe(policy: Policy, event: e.EventBase) -> str:
    """The event's particulars in a sentence (its kind is `label(EVENT, event.type)`)."""
    u = lambda unit_id: unit_name(policy, unit_id)  # noqa: E731
    reason = getattr(event, "reason", None)
    match event:
        case e.CaseReported(channel=channel, category=category):
            return f"经{label(CHANNEL, channel)}上报「{category_name(policy, category)}」"
        case e.CaseDispatched(routing=routing):
            return f"派至{u(routing.lead_unit)}（{label(ROUTING_RULE, routing.rule)}）"
        case e.CaseReassigned(from_unit=a, to_unit=b):
            return f"由{u(a)}改派至{u(b)}；理由：{reason}"
        case e.DeadlineSet(stage=stage, due_at=due, estimated=estimated):
            guessed = "（年度假日未公布，按周末估算）" if estimated else ""
            return f"{label(STAGE, stage)}时限至 {local(policy, due)}{guessed}"
        case e.DeadlineMissed(stage=stage, due_at=due, unit=unit):
            return f"{label(STAGE, stage)}时限 {local(policy, due)} 已过" + (f"，责任单位{u(unit)}" if unit else "")
        case e.EscalationRaised(level=level, unit=unit, points=points):
            return f"升至{rung(policy, level)}，责任单位{u(unit)}" + (f"，扣 {points:g} 分" if points else "")
        case e.RectificationSubmitted(evidence=evidence, note=note):
            return f"整改照片 {len(evidence)} 张" + (f"；说明：{note}" if note else "")
        case e.CaseClosed(note=note, evidence=seen) | e.ReworkOrdered(note=note, evidence=seen):
            words = [f"核查意见：{note}"] if note else []
            return "；".join(words + ([f"核查照片 {len(seen)} 张"] if seen else []))
        case e.DuplicateAttached(channel=channel, distance_m=distance, description=text):
            return f"经{label(CHANNEL, channel)}，相距 {distance:.0f} 米：{text}"
        case e.CaseMerged(into_case_id=into):
            return f"并入案件 {into}"
        case e.ExtensionRequested(hours=hours) | e.ExtensionGranted(hours=hours):
            return f"延期 {hours:g} 工作小时；理由：{reason}"
        case e.CaseResumed(paused_hours=paused):
            return f"挂起 {paused:.1f} 工作小时后恢复，时限顺延"
        case e.FeedbackRecorded(satisfied=satisfied, note=note):
            return ("满意" if satisfied else "不满意") + (f"；{note}" if note else "")
        case e.ProceedingDecided(outcome=outcome, points=points):
            return f"{label(OUTCOME, outcome)}" + (f"，扣 {points:g} 分" if points else "") + f"；理由：{reason}"
    return f"理由：{reason}" if reason else ""


@dataclass
class DeadlineEpisode:
    """One deadline of a stage, from when it was set until it was met, missed, moved or dropped."""

    stage: str
    set_at: datetime
    due_at: datetime
    estimated: bool
    #: running, met, missed, moved (a later deadline replaced it), dropped (the case ended first)
    outcome: str = "running"
    ended_at: datetime | None = None
    natural: bool = False
    notes: list[str] = field(default_factory=list)


def deadline_episodes(policy: Policy, events: Sequence[e.Event]) -> list[DeadlineEpisode]:
    """Every deadline each stage had, in the order they were set, with how each ended."""
    episodes: list[DeadlineEpisode] = []
    current: dict[str, DeadlineEpisode] = {}
    state: CaseState | None = None
    for event in events:
        state = evolve(state, event)
        at = event.occurred_at
        if isinstance(event, e.DeadlineSet):
            if (before := current.pop(event.stage, None)) is not None and before.outcome == "running":
                before.outcome, before.ended_at = "moved", at
            episode = DeadlineEpisode(
                event.stage, at, event.due_at, event.estimated, natural=is_natural(policy, event.stage, state.category)
            )
            episodes.append(episode)
            current[event.stage] = episode
        elif isinstance(event, e.DeadlineMissed) and event.stage in current:
            current[event.stage].outcome, current[event.stage].ended_at = "missed", at
        if state.status is CaseStatus.SUSPENDED:
            continue  # the clocks stop; the deadlines are moved when the case resumes
        for stage, episode in list(current.items()):
            running = stage in state.deadlines and state.status in ACTIVE_IN[stage]
            if not running:
                del current[stage]
                if episode.outcome == "running":
                    ended = state.ended_at is not None and state.closed_at is None
                    episode.outcome, episode.ended_at = ("dropped" if ended else "met"), at
    return episodes


@dataclass(frozen=True)
class NextRung:
    name: str
    at: datetime


def next_rung(policy: Policy, state: CaseState) -> NextRung | None:
    """The rung the case climbs next if nothing is delivered, once its rectification deadline is missed."""
    deadline = state.deadlines.get(Stage.RECTIFY)
    if deadline is None or not deadline.missed or state.status not in ACTIVE_IN[Stage.RECTIFY]:
        return None
    ahead = [r for r in policy.ladder if r.level > state.escalation_level]
    if not ahead:
        return None
    paused = timedelta(hours=state.ladder_paused_hours)
    return NextRung(rung(policy, ahead[0].level), rung_moment(policy, deadline.due_at, ahead[0], paused))
