"""The leaders' pages (role `leader`): this week's ranking with the change from last week, trends over weeks,
the quarterly assessment, a unit's figures and cases, and the bulletins 第1期…第N期 as HTML, PDF, CSV and PNG.

Figures come from bulletins/ranking.py over the store's read models. A bulletin is rendered again from the
store when asked for (the same bytes as when it was issued, bulletins/issue.py), so this server needs no share
of the workers' folder; the last few are kept in memory.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rectify.bulletins import charts, ranking, words
from rectify.bulletins.issue import archive, render_issued, stem
from rectify.domain.periods import Period, PeriodError, previous_week, quarter, week, week_of
from rectify.domain.policy import UnitKind
from rectify.store.read_models import CaseFilter, case_page, status_counts
from rectify.store.staff import StaffUser
from rectify.web.context import Web, WebError, csrf_guard, render, require_user, web_of

if TYPE_CHECKING:
    from rectify.store.bulletins import IssuedBulletin

router = APIRouter(prefix="/leader", dependencies=[Depends(csrf_guard)], include_in_schema=False)
#: Who reads these pages (the issue's "role leader"); widen here, nowhere else.
READERS = frozenset({"leader"})
TREND_WEEKS = 8
#: The trends drawn: indicator → (title, axis label, drawn as a percentage).
TRENDS: dict[str, tuple[str, str, bool]] = {
    "on_time_rate": ("按期办结率", "按期办结率（%）", True),
    "rework_rate": ("返工率", "返工率（%）", True),
    "open_overdue": ("超期未办结", "超期未办结（件）", False),
}
#: A bulletin's downloads: extension → (what a person calls it, media type).
DOWNLOADS = {
    "html": ("网页", "text/html; charset=utf-8"),
    "pdf": ("PDF", "application/pdf"),
    "csv": ("排名表 CSV", "text/csv; charset=utf-8"),
    "png": ("得分图 PNG", "image/png"),
}
#: The bulletin's own HTML, viewed here: its inline style and its chart, nothing else (no script at all).
BULLETIN_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_CACHED_BULLETINS = 4


async def _leader(request: Request) -> StaffUser:
    user = await require_user(request)
    if user.role not in READERS:
        raise WebError(403, "排名、趋势、季度考核和督查通报页面仅向领导账号开放。")
    return user


def _today(web: Web) -> date:
    return web.clock().astimezone(ZoneInfo(web.policy.timezone)).date()


def _week(web: Web, text: str) -> Period:
    """The week asked for (2026-W50), or this week; never one that has not begun."""
    zone, today = web.policy.timezone, _today(web)
    if not text:
        return week_of(today, zone)
    try:
        period = week(text[:20], zone)
    except PeriodError:
        raise WebError(400, f"周次「{text[:20]}」无效，请写作 2026-W50 这样的格式。") from None
    if period.first_day > today:
        raise WebError(400, f"{words.week_title(period.label)}尚未开始，还没有排名。")
    return period


def _group_of(web: Web, unit_id: str) -> str | None:
    unit = web.policy.units.get(unit_id)
    return next((g for g, kinds in ranking.GROUPS.items() if unit and unit.kind in kinds), None)


@router.get("")
async def ranking_page(request: Request, week: str = "") -> Response:
    user = await _leader(request)
    web = web_of(request)
    period = _week(web, week)
    ranked = await ranking.weekly(web.store, web.policy, period.label, _today(web))
    later = week_of(period.first_day + timedelta(days=7), web.policy.timezone)
    newest = (await archive(web.store))[:1]
    context: dict[str, Any] = {
        "title": "本周排名" if period == _week(web, "") else f"{words.week_title(period.label)}排名",
        "period": period,
        "week_title": words.week_title(period.label),
        "span": words.span(period.first_day, period.last_day),
        "ranked": ranked,
        "earlier": previous_week(period, web.policy.timezone).label,
        "later": later.label if later.first_day <= _today(web) else None,
        "newest": newest[0] if newest else None,
        "formula": words.scoring_formula(ranked["scoring"]),
    }
    return render(request, "leader_ranking.html", context | _common(), user=user)


def _common() -> dict[str, Any]:
    return {"w": words, "groups": words.GROUP, "trends": TRENDS, "downloads": DOWNLOADS}


async def _trend(web: Web, weeks: int = TREND_WEEKS) -> dict:
    return await ranking.weekly_trend(web.store, web.policy, week_of(_today(web), web.policy.timezone).label, weeks)


def _series(trend: dict, units: list[str], indicator: str) -> dict[str, list[float | None]]:
    """Each unit's values over the weeks, oldest first; a rate with nothing to count among is None (a gap)."""
    return {u: [words.measured(w["units"].get(u, {}), indicator) for w in trend["weeks"]] for u in units}


def _group(text: str) -> str:
    return text if text in ranking.GROUPS else "territorial"


@router.get("/trends")
async def trends_page(request: Request, group: str = "territorial") -> Response:
    user = await _leader(request)
    web = web_of(request)
    group = _group(group)
    trend = await _trend(web)
    units = trend["groups"][group]
    tables = {name: _series(trend, units, name) for name in TRENDS}
    context = {
        "title": "趋势",
        "group": group,
        "weeks": [words.week_title(w["period"]["label"]) for w in trend["weeks"]],
        "names": {u: web.policy.units[u].name for u in units},
        "tables": tables,
    }
    return render(request, "leader_trends.html", context | _common(), user=user)


@router.get("/trends/{indicator}.png")
async def trend_chart(request: Request, indicator: str, group: str = "territorial") -> Response:
    await _leader(request)
    if indicator not in TRENDS:
        raise WebError(404, f"没有「{indicator[:40]}」这一趋势图。")
    web = web_of(request)
    group = _group(group)
    trend = await _trend(web)
    title, axis, percent = TRENDS[indicator]
    series = _series(trend, trend["groups"][group], indicator)
    named = {web.policy.units[u].name: values for u, values in series.items()}
    weeks = [f"第{int(w['period']['label'][-2:])}周" for w in trend["weeks"]]
    heading = f"{words.GROUP[group]}{title}（近{len(weeks)}周）"
    png = await asyncio.to_thread(charts.trend_chart, weeks, named, heading, axis, percent=percent)
    return Response(png, media_type="image/png")


@router.get("/quarter")
async def quarter_page(request: Request, q: str = "") -> Response:
    user = await _leader(request)
    web = web_of(request)
    zone, today = web.policy.timezone, _today(web)
    current = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    try:
        period = quarter(q[:10] or current, zone)
    except PeriodError:
        raise WebError(400, f"季度「{q[:10]}」无效，请写作 2026-Q4 这样的格式。") from None
    if period.first_day > today:
        raise WebError(400, f"{words.quarter_title(period.label)}尚未开始，还没有考核结果。")
    assessed = await ranking.quarterly(web.store, web.policy, period.label, today)
    before = quarter(_previous_quarter(period.label), zone)
    context = {
        "title": "季度考核",
        "quarter_title": words.quarter_title(period.label),
        "span": words.span(period.first_day, period.last_day),
        "assessed": assessed,
        "earlier": before.label,
        "later": None if period.label == current else _next_quarter(period.label),
    }
    return render(request, "leader_quarter.html", context | _common(), user=user)


def _previous_quarter(label: str) -> str:
    year, q = int(label[:4]), int(label[-1])
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


def _next_quarter(label: str) -> str:
    year, q = int(label[:4]), int(label[-1])
    return f"{year + 1}-Q1" if q == 4 else f"{year}-Q{q + 1}"


@router.get("/units/{unit_id}")
async def unit_page(request: Request, unit_id: str) -> Response:
    user = await _leader(request)
    web = web_of(request)
    unit = web.policy.units.get(unit_id)
    if unit is None or unit.kind is UnitKind.OFFICE:
        raise WebError(404, f"没有编码为「{unit_id[:40]}」的责任单位。")
    trend = await _trend(web)
    weeks = [(w["period"], w["units"].get(unit_id, {})) for w in trend["weeks"]]
    group = _group_of(web, unit_id)
    row = None
    if group:
        this_week = week_of(_today(web), web.policy.timezone)
        ranked = await ranking.weekly(web.store, web.policy, this_week.label, _today(web))
        row = next((r for r in ranked["groups"][group] if r["unit"] == unit_id), None)
    page = await case_page(web.store.pool, CaseFilter(lead_unit=unit_id), None, 20)
    counts = await status_counts(web.store.pool, unit_id)
    context = {
        "title": unit.name,
        "unit": unit,
        "group": group,
        "row": row,
        "weeks": weeks,
        "rows": page.rows,
        "more": None,
        "query": "",
        "counts": counts,
        "total": sum(counts.values()),
    }
    return render(request, "leader_unit.html", context | _common(), user=user)


@router.get("/bulletins")
async def bulletins_page(request: Request) -> Response:
    user = await _leader(request)
    web = web_of(request)
    zone = web.policy.timezone
    issues = []
    for number, label, issued_on in await archive(web.store):
        period = week(label, zone)
        name = stem(label, number)
        issues.append(
            {
                "number": number,
                "week_title": words.week_title(label),
                "span": words.span(period.first_day, period.last_day),
                "issued_on": words.day(issued_on or period.last_day + timedelta(days=1)),
                "view": f"/leader/bulletins/{number}/{name}.html",
                "files": {ext: f"/leader/bulletins/{number}/{name}.{ext}?download=1" for ext in DOWNLOADS},
            }
        )
    return render(request, "leader_bulletins.html", {"title": "督查通报", "issues": issues} | _common(), user=user)


async def _bulletin(request: Request, number: int) -> tuple[IssuedBulletin, dict[str, bytes]]:
    web = web_of(request)
    cache: OrderedDict[int, tuple[IssuedBulletin, dict[str, bytes]]] = getattr(
        request.app.state, "leader_bulletins", OrderedDict()
    )
    request.app.state.leader_bulletins = cache
    if number not in cache:
        rendered = await render_issued(web.store, web.policy, number, tuple(web.city.points.values()))
        if rendered is None:
            raise WebError(404, f"督查通报第{number}期尚未印发。")
        cache[number] = rendered
        while len(cache) > _CACHED_BULLETINS:
            cache.popitem(last=False)
    cache.move_to_end(number)
    return cache[number]


@router.get("/bulletins/{number}/{name}")
async def bulletin_file(request: Request, number: str, name: str, download: str = "") -> Response:
    await _leader(request)
    if not number.isdigit() or not 0 < int(number) < 1_000_000:
        raise WebError(404, f"没有第{number[:12]}期督查通报。")
    issued, files = await _bulletin(request, int(number))
    ext = name.rsplit(".", 1)[-1]
    if name not in files or ext not in DOWNLOADS:
        raise WebError(404, f"督查通报第{issued.number}期没有名为「{name[:60]}」的文件。")
    headers = {"content-security-policy": BULLETIN_CSP} if ext == "html" else {}
    if download:
        title = f"督查通报第{issued.number}期（{words.week_title(issued.week)}）.{ext}"
        headers["content-disposition"] = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(title)}"
    return Response(files[name], media_type=DOWNLOADS[ext][1], headers=headers)
