"""The public's pages (no sign-in): the district's reports on a map and in a list, a report's page with the
steps taken and their dates, and lookup by the request id a reporter was given.

Nothing personal is shown: no reporter, no contact, no internal note or reason, no staff name; the steps are
the case's public milestones only. The status is Open311's two words (处理中 / 已办结), as the public API says.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from rectify.domain import events as e
from rectify.domain.policy import UnitKind
from rectify.domain.types import CLOSED_STATUSES
from rectify.store.evidence import EvidenceError
from rectify.store.public_cases import PublicFilter, PublicReport, public_page, public_points, public_report
from rectify.store.read_models import PageKey
from rectify.web.context import Web, WebError, csrf_guard, render, web_of
from rectify.web.labels import category_name, unit_name
from rectify.web.public_photos import public_copy, published

router = APIRouter(prefix="/public", dependencies=[Depends(csrf_guard)], include_in_schema=False)
PAGE_SIZE = 20
MAP_POINTS = 3000
#: Open311's status words, in Chinese; and what a closed case's particular end is called.
STATUS = {False: "处理中", True: "已办结"}
ENDING = {"rejected": "不予立案", "withdrawn": "已撤回", "merged": "已合并至其他报告"}
_CLOSED = sorted(CLOSED_STATUSES)


def _zone(web: Web) -> ZoneInfo:
    return ZoneInfo(web.policy.timezone)


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        errors[field] = "日期格式应为 2026-12-01"
        return None


def _filters(web: Web, category: str, status: str, area: str, since: str, until: str) -> tuple[PublicFilter, dict]:
    """The filter asked for, and a note per field that was ignored (shown beside the field)."""
    errors: dict[str, str] = {}
    policy = web.policy
    if category and category not in policy.categories:
        errors["category"], category = "没有这一问题类别，已显示全部类别", ""
    if status not in ("", "open", "closed"):
        errors["status"], status = "状态只有处理中和已办结，已显示全部", ""
    territories = {u.id for u in policy.units.values() if u.kind in (UnitKind.STREET, UnitKind.TOWN)}
    if area and area not in territories:
        errors["area"], area = "没有这一街道或镇，已显示全区", ""
    first, last = _day(since, "since", errors), _day(until, "until", errors)
    zone = _zone(web)
    where = PublicFilter(
        category=category or None,
        closed=None if not status else status == "closed",
        territory=area or None,
        opened_from=datetime.combine(first, time(0), zone) if first else None,
        opened_before=datetime.combine(last + timedelta(days=1), time(0), zone) if last else None,
    )
    chosen = {"category": category, "status": status, "area": area, "since": since[:10], "until": until[:10]}
    return where, {"chosen": chosen, "errors": errors}


def _key_text(key: PageKey) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0].isoformat(), key[1]]).encode()).decode()


def _key(text: str) -> PageKey | None:
    try:
        opened, case_id = json.loads(base64.urlsafe_b64decode(text.encode()))
        return datetime.fromisoformat(opened), str(case_id)
    except (ValueError, TypeError):
        return None


def shown(web: Web, report: PublicReport, now: datetime) -> dict[str, Any]:
    closed = report.status in CLOSED_STATUSES
    return {
        "r": report,
        "closed": closed,
        "status": STATUS[closed],
        "ending": ENDING.get(report.status, ""),
        "overdue": not closed and report.due_at is not None and report.due_at < now,
        "category": category_name(web.policy, report.category),
        "unit": unit_name(web.policy, report.lead_unit),
        "area": unit_name(web.policy, report.territorial_unit),
    }


@router.get("")
async def reports(
    request: Request,
    category: str = "",
    status: str = "",
    area: str = "",
    since: str = "",
    until: str = "",
    after: str = "",
) -> Response:
    web = web_of(request)
    where, form = _filters(web, category[:60], status[:10], area[:60], since[:20], until[:20])
    rows, more = await public_page(web.store.pool, where, _CLOSED, _key(after) if after else None, PAGE_SIZE)
    now = web.clock()
    query = "&".join(f"{k}={v}" for k, v in form["chosen"].items() if v)
    context = {
        "rows": [shown(web, r, now) for r in rows],
        "more": _key_text(more) if more else None,
        "query": query,
        "categories": [(code, spec.name) for code, spec in web.policy.categories.items()],
        "areas": [(u.id, u.name) for u in web.policy.units.values() if u.kind in (UnitKind.STREET, UnitKind.TOWN)],
        **form,
    }
    return render(request, "public_reports.html", context)


@router.get("/map.json")
async def map_points(
    request: Request, category: str = "", status: str = "", area: str = "", since: str = "", until: str = ""
) -> Response:
    web = web_of(request)
    where, _ = _filters(web, category[:60], status[:10], area[:60], since[:20], until[:20])
    points = await public_points(web.store.pool, where, _CLOSED, web.clock(), MAP_POINTS)
    # orjson writes the store's tuples as arrays directly: thousands of points in well under a millisecond.
    body = orjson.dumps({"points": points})
    return Response(body, media_type="application/json", headers={"cache-control": "no-store"})


@router.get("/lookup")
async def lookup(request: Request, id: str = "") -> Response:
    wanted = id.strip()[:100]
    if not wanted:
        return render(request, "public_lookup.html", {"wanted": "", "error": "请输入受理时告知您的报告编号"}, 400)
    if await public_report(web_of(request).store.pool, wanted) is None:
        error = f"没有编号为「{wanted}」的报告，请核对后重试"
        return render(request, "public_lookup.html", {"wanted": wanted, "error": error}, 404)
    return RedirectResponse(f"/public/reports/{wanted}", status_code=303)


def public_steps(web: Web, events: Sequence[e.EventBase]) -> list[tuple[datetime, str]]:
    """The public milestones, in order, each a date and a sentence with no note, reason or person in it."""
    policy, steps = web.policy, []
    ladder = {r.level: r.name for r in policy.ladder}
    for event in events:
        match event:
            case e.CaseReported():
                text = "受理报告"
            case e.CaseDispatched(routing=routing):
                text = f"派至{unit_name(policy, routing.lead_unit)}办理"
            case e.CaseReassigned(to_unit=to_unit):
                text = f"改派至{unit_name(policy, to_unit)}办理"
            case e.CaseClaimed():
                text = "责任单位认领，开始整改"
            case e.RectificationSubmitted():
                text = "责任单位提交整改结果，等待核查"
            case e.CaseClosed():
                text = "现场核查通过，办结"
            case e.ReworkOrdered():
                text = "现场核查未通过，返工整改"
            case e.ExtensionGranted():
                text = "延期申请获批准，整改时限顺延"
            case e.CaseSuspended():
                text = "暂停办理"
            case e.CaseResumed():
                text = "恢复办理"
            case e.EscalationRaised(level=2):
                text = f"超过整改时限，已{ladder.get(2, '曝光')}"
            case e.CaseRejected():
                text = "不予立案"
            case e.CaseWithdrawn():
                text = "报告已撤回"
            case e.CaseMerged():
                text = "与其他报告为同一问题，已合并办理"
            case e.DuplicateAttached():
                text = "收到同一问题的其他报告"
            case e.CaseReopened():
                text = "问题复现，重新办理"
            case _:
                continue
        steps.append((event.occurred_at, text))
    return steps


@router.get("/reports/{case_id}")
async def report(request: Request, case_id: str) -> Response:
    web = web_of(request)
    found = await public_report(web.store.pool, case_id[:100])
    if found is None:
        raise WebError(404, f"没有编号为「{case_id[:100]}」的报告。")
    events = await web.store.load_case(found.case_id)
    context = {
        **shown(web, found, web.clock()),
        "steps": public_steps(web, events),
        "photos": [(f"/public/photos/{found.case_id}/{sha}.jpg", caption) for sha, caption in published(events)],
    }
    return render(request, "public_report.html", context)


@router.get("/photos/{case_id}/{name}")
async def photo(request: Request, case_id: str, name: str) -> Response:
    """A published photo, as its clean copy (web/public_photos.py): only one the case's page may show."""
    web = web_of(request)
    sha = name.removesuffix(".jpg")
    found = await public_report(web.store.pool, case_id[:100])
    if found is None or sha not in {s for s, _ in published(await web.store.load(found.case_id))}:
        raise WebError(404, "没有这张公开照片。")
    try:
        data = await asyncio.to_thread(public_copy, web.evidence, sha)
    except (OSError, EvidenceError):  # gone from the evidence folder, or changed on disk: not shown
        raise WebError(404, "这张照片暂时无法显示。") from None
    return Response(data, media_type="image/jpeg", headers={"cache-control": "public, max-age=300"})
