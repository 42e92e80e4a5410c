"""The case list (home page per role) and the read-only case page, with its photos and the city's map layers."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rectify.domain import events as e
from rectify.domain.policy import Policy
from rectify.domain.state import fold
from rectify.store.projections import CaseRow
from rectify.store.read_models import CaseFilter, PageKey, case_page, status_counts
from rectify.store.staff import StaffUser
from rectify.web import present
from rectify.web.access import may_read, may_see_evidence, scope_unit
from rectify.web.context import WebError, csrf_guard, render, require_user, stored_photo, web_of
from rectify.web.labels import STATUS, STATUS_ORDER, unit_name
from rectify.web.panel import page_actions

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
PAGE_SIZE = 30
#: What each role sees first; "all" shows every status.
DEFAULT_STATUS = {"inspector": "submitted"}
_LAYERS = ("district", "territories", "grids", "roads")
#: Only what a map needs from each layer (no grid chiefs' names).
_LAYER_PROPERTIES = {
    "district": ("name",),
    "territories": ("unit_id", "name"),
    "grids": ("grid_id", "name"),
    "roads": ("name",),
}


def _key_text(key: PageKey) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0].isoformat(), key[1]]).encode()).decode()


def _key(text: str) -> PageKey:
    try:
        opened, case_id = json.loads(base64.urlsafe_b64decode(text.encode()))
        return datetime.fromisoformat(opened), str(case_id)
    except (ValueError, TypeError) as error:
        raise WebError(400, "分页参数无效，请从第一页重新浏览。") from error


@router.get("/")
async def home(
    request: Request, status: str | None = None, category: str = "", unit: str = "", after: str = "", partial: str = ""
) -> Response:
    user = await require_user(request)
    web = web_of(request)
    policy = web.policy
    scope = scope_unit(user)
    if status is None:
        status = DEFAULT_STATUS.get(user.role, "all")
    notes = []
    if status != "all" and status not in STATUS:
        notes.append(f"没有「{status[:40]}」这一状态，已显示全部状态。")
        status = "all"
    if category and category not in policy.categories:
        notes.append(f"没有编码为「{category[:40]}」的问题类别，已忽略。")
        category = ""
    if unit and (unit not in policy.units or scope is not None):
        notes.append("单位筛选无效，已忽略。" if scope is None else "责任单位账号只能查看本单位案件。")
        unit = ""
    where = CaseFilter(
        status=None if status == "all" else status, category=category or None, lead_unit=unit or None, scope_unit=scope
    )
    page = await case_page(web.store.pool, where, _key(after) if after else None, PAGE_SIZE)
    filters = {"status": status, "category": category, "unit": unit}
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    context: dict[str, Any] = {
        "rows": page.rows,
        "filters": filters,
        "query": query,
        "notes": notes,
        "more": _key_text(page.next_key) if page.next_key else None,
    }
    if partial == "rows":
        return render(request, "_case_rows.html", context, user=user)
    counts = await status_counts(web.store.pool, scope)
    context |= {
        "counts": counts,
        "total": sum(counts.values()),
        "statuses": list(STATUS_ORDER),
        "units": _unit_choices(web.policy) if scope is None else [],
        "title": _home_title(user, web.policy),
    }
    return render(request, "home.html", context, user=user)


def _home_title(user: StaffUser, policy: Policy) -> str:
    return {
        "unit": f"{unit_name(policy, user.unit_id)} · 本单位案件",
        "inspector": "案件核查",
        "auditor": "全部案件（只读）",
        "leader": "全区案件",
    }.get(user.role, "全区案件")


def _unit_choices(policy: Policy) -> list[tuple[str, str]]:
    return [(u.id, u.name) for u in policy.units.values() if u.kind.value != "office"]


async def _readable(request: Request, case_id: str) -> tuple[StaffUser, CaseRow]:
    user = await require_user(request)
    row = await web_of(request).store.get_case(case_id)
    if row is None or not may_read(user, row):  # another unit's case is as absent as one that does not exist
        raise WebError(404, f"没有编号为 {case_id} 的案件，或该案件不在您的办理范围内。")
    return user, row


@router.get("/cases/{case_id}")
async def case(request: Request, case_id: str, draft: str = "", done: str = "") -> Response:
    user, row = await _readable(request, case_id)
    context = await case_context(request, user, row)
    web = web_of(request)
    context |= await page_actions(web, user, context["state"], context["events"], draft=draft, done=done)
    return render(request, "case.html", context, user=user)


async def case_context(request: Request, user: StaffUser, row: CaseRow) -> dict[str, Any]:
    """Everything the case page shows but its forms: the report, photos, units, deadlines, rungs, timeline."""
    case_id = row.case_id
    web = web_of(request)
    policy = web.policy
    events = await web.store.load_case(case_id)
    state = fold(events)
    if state is None:
        raise WebError(404, f"案件 {case_id} 没有记录。")
    now = web.clock()
    photos: dict[str, list] = {"before": [], "after": [], "check": []}
    for event in events:
        if isinstance(event, e.CaseReported):
            photos["before"] += [(ref, event.occurred_at) for ref in event.evidence]
        elif isinstance(event, e.RectificationSubmitted):
            photos["after"] += [(ref, event.occurred_at) for ref in event.evidence]
        elif isinstance(event, e.CaseClosed | e.ReworkOrdered):
            photos["check"] += [(ref, event.occurred_at) for ref in event.evidence]
    context = {
        "row": row,
        "state": state,
        "events": events,
        "routing": state.routing,
        "episodes": present.deadline_episodes(policy, events),
        "next_rung": present.next_rung(policy, state),
        "rungs": [ev for ev in events if isinstance(ev, e.EscalationRaised)],
        "photos": photos,
        "show_photos": may_see_evidence(user, row),
        "now": now,
        "grid": next((g for g in web.city.router.grids if g.grid_id == state.grid_id), None),
        "rectify_countdown": present.row_countdown(policy, state.status, state.category, state.due_at, now),
    }
    return context


@router.get("/cases/{case_id}/evidence/{sha256}")
async def evidence(request: Request, case_id: str, sha256: str) -> Response:
    user, row = await _readable(request, case_id)
    if not may_see_evidence(user, row):
        raise WebError(403, "照片仅向案件的责任单位、派遣员、核查员和审计人员提供。")
    web = web_of(request)
    refs = {ref.sha256: ref for ev in await web.store.load(case_id) for ref in getattr(ev, "evidence", ())}
    return stored_photo(web, refs.get(sha256), "该案件没有这张照片。")


@router.get("/city/{layer}.geojson")
async def city_layer(request: Request, layer: str) -> Response:
    """The city's own map layers (no tiles anywhere): outline, territories, grids, roads."""
    if layer not in _LAYERS:
        raise WebError(404, f"没有名为 {layer} 的地图图层。")
    web = web_of(request)
    cache = web.layers
    if layer not in cache:
        raw = json.loads((web.city.source_dir / f"{layer}.geojson").read_text("utf-8"))
        features = raw.get("features", [raw] if raw.get("type") == "Feature" else [])
        keep = _LAYER_PROPERTIES[layer]
        cache[layer] = json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": f["geometry"],
                        "properties": {k: (f.get("properties") or {}).get(k) for k in keep},
                    }
                    for f in features
                ],
            },
            ensure_ascii=False,
        )
    return Response(cache[layer], media_type="application/geo+json", headers={"cache-control": "public, max-age=3600"})
