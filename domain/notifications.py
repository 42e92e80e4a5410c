"""Who is told what, when something happens: dispatches, misses and every rung go to the lead unit.

A pure rule over events, so the outbox written beside the events is rebuildable from them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rectify.domain import events as e
from rectify.domain.events import Event
from rectify.domain.labels import STAGE, label
from rectify.domain.types import Frozen


class Notification(Frozen):
    notification_id: str
    case_id: str
    event_id: str
    recipient: str
    kind: str
    text: str


def _text(event: Event) -> tuple[str, str] | None:
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


def notifications_for(events: Sequence[Event], lead_unit: str | None) -> list[Notification]:
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
