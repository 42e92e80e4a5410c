"""Who is told what, when something happens: dispatches, misses and every rung go to the lead unit.

A pure rule over events, so the outbox written beside the events is rebuildable from them. `notice_facts`
says what a notice is about (case, category, place, deadline, rung), from the event and the case after its
batch; channels/text.py words it. Reporters' contacts are never in events, and the free-text description
(where a reporter may leave a phone number) is not a fact a notice carries: the unit reads it on the case page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rectify.domain import events as e
from rectify.domain.events import StoredEvent
from rectify.domain.labels import STAGE, label
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState
from rectify.domain.types import Frozen, UtcDateTime


class Notification(Frozen):
    notification_id: str
    case_id: str
    event_id: str
    recipient: str
    kind: str
    text: str


def _text(event: StoredEvent) -> tuple[str, str] | None:
    match event:
        case e.CaseDispatched(routing=routing):
            return routing.lead_unit, "新派单：请在时限内认领并整改"
        case e.CaseReassigned(to_unit=to_unit):
            return to_unit, "改派：本案件已改派至本单位"
        case e.DeadlineMissed(stage=stage, unit=unit) if unit:
            return unit, f"超期：{label(STAGE, stage)}时限已过"
        case e.EscalationRaised(level=level, rung=rung, unit=unit, points=points):
            extra = f"，扣{points:g}分" if points else ""
            return unit, f"{rung}（第{level}级）：整改超期{extra}"
        case e.ProceedingOpened(unit=unit, subject_case_id=case_id):
            return unit, f"问责：案件 {case_id} 已移交问责，请在时限内提交书面说明"
        case e.ProceedingDecided(unit=unit, outcome=outcome, points=points):
            return unit, f"问责决定：{outcome}" + (f"，扣{points:g}分" if points else "")
        case _:
            return None


def notifications_for(events: Sequence[StoredEvent], lead_unit: str | None) -> list[Notification]:
    """The notifications that `events` cause; `lead_unit` is the case's lead unit after them."""
    found: list[Notification] = []
    for event in events:
        if isinstance(event, e.ReworkOrdered | e.CaseReopened) and lead_unit:
            target = (lead_unit, "返工：核查未通过或问题复发，请重新整改")
        else:
            target = _text(event)
        if target is None:
            continue
        recipient, text = target
        found.append(
            Notification(
                notification_id=f"{event.event_id}:{recipient}",
                case_id=event.case_id,
                event_id=event.event_id,
                recipient=recipient,
                kind=event.type,
                text=text,
            )
        )
    return found


class NoticeFacts(Frozen):
    """What one notice is about, for the words and the wire formats of the channels (channels/text.py)."""

    notice_id: str
    kind: str
    #: The unit told (the notification's recipient).
    unit: str
    #: The case the notice is about (for a proceeding, the case that climbed the ladder).
    case_id: str
    #: The notification's own short line (新派单：…, 超期：…, 曝光（第2级）：…).
    summary: str
    occurred_at: UtcDateTime
    category: str | None = None
    address: str | None = None
    road: str | None = None
    territorial_unit: str | None = None
    #: The deadline the notice is about: its stage (rectify, claim, …, explanation) and due moment.
    deadline_stage: str | None = None
    due_at: UtcDateTime | None = None
    estimated: bool = False
    missed: bool = False
    #: When the case still waits to be claimed (a dispatch, a reassignment): the claim deadline too.
    claim_due_at: UtcDateTime | None = None
    #: The rung a rung's notice (or a referral to 问责) is about (0: none), and the points it costs.
    level: int = 0
    points: float = 0.0


def notice_facts(note: Notification, event: StoredEvent, case: CaseState | None, policy: Policy) -> NoticeFacts:
    """The facts of `note`, caused by `event`; `case` is the case after the event's batch (None: unknown).

    For a proceeding's notices `case` is the subject case, whose place and category the unit recognises;
    a proceeding is about the top rung (问责), where it was opened.
    """
    top = policy.ladder[-1].level if policy.ladder else 0
    facts: dict[str, Any] = {
        "notice_id": note.notification_id,
        "kind": note.kind,
        "unit": note.recipient,
        "case_id": case.case_id if case else getattr(event, "subject_case_id", note.case_id),
        "summary": note.text,
        "occurred_at": event.occurred_at,
    }
    if case is not None:
        routing = case.routing
        facts |= {
            "category": case.category,
            "address": case.address,
            "road": routing.road if routing else None,
            "territorial_unit": routing.territorial_unit if routing else None,
        }
        if deadline := case.deadlines.get("rectify"):
            facts |= {"deadline_stage": "rectify", "due_at": deadline.due_at}
            facts |= {"estimated": deadline.estimated, "missed": deadline.missed}
        if (claim := case.deadlines.get("claim")) and not claim.missed:
            facts["claim_due_at"] = claim.due_at
    match event:
        case e.DeadlineMissed(stage=stage, due_at=due_at):
            facts |= {"deadline_stage": stage, "due_at": due_at, "missed": True, "estimated": False}
        case e.EscalationRaised(level=level, points=points):
            facts |= {"level": level, "points": points}
        case e.ProceedingOpened(explanation_due_at=due_at):
            facts |= {"deadline_stage": "explanation", "due_at": due_at, "missed": False, "estimated": False}
            facts["level"] = top
        case e.ProceedingDecided(points=points):
            facts |= {"deadline_stage": None, "due_at": None, "points": points, "level": top}
        case _:
            # Every other event (a dispatch, a reassignment, a rework, ...) says nothing beyond the case's facts.
            pass
    return NoticeFacts(**facts)
