"""责任单位的工作台 (the unit's workbench, phone first) and 现场核查 (the inspector's page).

The workbench: the unit's open cases, nearest deadline first, each with what may be done now (claim right
there; the rest on the case page), and the unit's inbox of notices (派单, 催办, 曝光 …), marked read.
The inspector's page: the cases awaiting verification in the inspector's area (its streets and towns, or the
whole district) or in one street of it, the longest waiting first, before and after photos side by side, and the
verification form of the command table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from rectify.domain import events as e
from rectify.domain.command_table import BY_NAME, Stream
from rectify.domain.deadlines import Stage
from rectify.domain.state import CaseState, fold
from rectify.domain.types import OPEN_STATUSES, EvidenceRef
from rectify.store import worklists
from rectify.store.projections import CaseRow
from rectify.store.staff import StaffUser
from rectify.web import present
from rectify.web.accounts import StaffRole
from rectify.web.context import WebError, csrf_guard, render, require_user, web_of
from rectify.web.panel import ActionForm, panel

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
LIST_SIZE = 50
INBOX_SIZE = 30
#: Who verifies: inspectors, and dispatchers (the decider lets both).
VERIFIERS = frozenset({StaffRole.INSPECTOR, StaffRole.DISPATCHER})
_OPEN = sorted(s.value for s in OPEN_STATUSES)


def _flash(done: str) -> str | None:
    spec = BY_NAME[Stream.CASE].get(done)
    return f"办理成功：{spec.label}" if spec else None


@dataclass
class WorkItem:
    row: CaseRow
    state: CaseState
    #: Forms shown in the list itself (claim on the workbench, verify on the inspector's page).
    forms: list[ActionForm]
    #: Every other action this person may take, named, done on the case page.
    more: list[str]
    countdown: present.Countdown | None
    before: list[EvidenceRef]
    after: list[EvidenceRef]
    note: str = ""


async def _items(
    request: Request, user: StaffUser, rows: list[CaseRow], inline: frozenset[str], back: str
) -> list[WorkItem]:
    web = web_of(request)
    policy, now = web.policy, web.clock()
    items = []
    histories = await worklists.histories(web.store.pool, [row.case_id for row in rows])
    for row in rows:
        events = histories.get(row.case_id, [])
        state = fold(events)
        if state is None:
            continue
        forms = panel(web, user, state, events, back=back)
        before = [ref for ev in events if isinstance(ev, e.CaseReported) for ref in ev.evidence]
        submitted = [ev for ev in events if isinstance(ev, e.RectificationSubmitted)]
        verify = state.deadlines.get(Stage.VERIFY)
        if "verify" in inline and verify is not None:
            countdown = present.countdown(policy, verify.due_at, now)
        else:
            countdown = present.row_countdown(policy, state.status, state.category, state.due_at, now)
        items.append(
            WorkItem(
                row=row,
                state=state,
                forms=[f for f in forms if f.spec.name in inline],
                more=[f.spec.label for f in forms if f.spec.name not in inline],
                countdown=countdown,
                before=before,
                after=list(submitted[-1].evidence) if submitted else [],
                note=submitted[-1].note if submitted else "",
            )
        )
    return items


@router.get("/workbench")
async def workbench(request: Request, done: str = "") -> Response:
    user = await require_user(request)
    if user.role != StaffRole.UNIT:
        raise WebError(403, "工作台供责任单位账号使用；请从「全区案件」查看和办理。")
    web = web_of(request)
    pool, unit = web.store.pool, user.unit_id
    rows = await worklists.cases_by_deadline(pool, unit, _OPEN, LIST_SIZE)
    items = await _items(request, user, rows, frozenset({"claim"}), "/workbench")
    now = web.clock()
    late = [i for i in items if i.countdown is not None and i.countdown.tone == "late"]
    summary = {
        "dispatched": sum(1 for i in items if i.row.status == "dispatched"),
        "claimed": sum(1 for i in items if i.row.status == "claimed"),
        "late": len(late),
        "unread": await worklists.unread(pool, unit),
    }
    context: dict[str, Any] = {
        "items": items,
        "summary": summary,
        "notices": await worklists.inbox(pool, unit, INBOX_SIZE),
        "flash": _flash(done),
        "now": now,
        "full": len(rows) == LIST_SIZE,
    }
    return render(request, "workbench.html", context, user=user)


@router.post("/workbench/inbox/read")
async def mark_read(request: Request, notification_id: Annotated[str, Form()] = "") -> Response:
    """One notice read, or every unread one when none is named; only the unit's own notices are touched."""
    user = await require_user(request)
    if user.role != StaffRole.UNIT:
        raise WebError(403, "通知属于责任单位账号。")
    ids = [notification_id[:200]] if notification_id else None
    await worklists.mark_read(web_of(request).store.pool, user.unit_id, ids)
    return RedirectResponse("/workbench#inbox", status_code=303)


@router.get("/verify")
async def verification(request: Request, area: str = "", done: str = "") -> Response:
    """An inspector with an area sees that area's cases only; without one (and a dispatcher), the district's."""
    user = await require_user(request)
    if StaffRole(user.role) not in VERIFIERS:
        raise WebError(403, "现场核查页面供核查员和派遣员使用。")
    web = web_of(request)
    policy, pool = web.policy, web.store.pool
    mine = list(user.areas) if user.role == StaffRole.INSPECTOR and user.areas else None
    notes = []
    if area and (area not in policy.units or (mine is not None and area not in mine)):
        notes.append(
            "没有这个街道（镇），已显示全区。" if mine is None else "该街道（镇）不在您的核查区域，已显示您的全部区域。"
        )
        area = ""
    counts = await worklists.awaiting_by_territory(pool)
    if mine is not None:
        counts = {u: counts.get(u, 0) for u in mine}
    rows = await worklists.awaiting_verification(pool, [area] if area else mine, LIST_SIZE)
    back = f"/verify?area={area}" if area else "/verify"
    items = await _items(request, user, rows, frozenset({"verify"}), back)
    for item in items:
        for form in item.forms:
            form.open = True
    areas = [(u, policy.units[u].name, n) for u, n in sorted(counts.items()) if u in policy.units]
    context = {
        "items": items,
        "area": area,
        "areas": areas,
        "whole": "本人核查区域" if mine is not None else "全区",
        "total": sum(counts.values()),
        "notes": notes,
        "flash": _flash(done),
    }
    return render(request, "verify.html", context, user=user)
