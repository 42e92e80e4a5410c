"""曝光台, the public exposure list: the cases that reached the exposure rung (曝光) in a week, with the unit in
charge by its Chinese name and how many days it was overdue, exactly the list the week's 督查通报 prints
(bulletins/issue.py `exposures`). Days overdue run from the missed rectification deadline to the unit's
submission of its fix, or to now while it has none (counted in whole days begun, as people say 超期 3 天).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rectify.bulletins import words
from rectify.bulletins.issue import exposures
from rectify.domain import events as e
from rectify.domain.periods import PeriodError, previous_week, week, week_of
from rectify.web.context import WebError, render, web_of

router = APIRouter(prefix="/public", include_in_schema=False)


def days_overdue(events: Sequence[e.EventBase], now: datetime) -> int | None:
    """Whole days begun between the missed rectification deadline and the fix (or now); None if none was missed."""
    missed: datetime | None = None
    delivered: datetime | None = None
    for event in events:
        match event:
            case e.DeadlineMissed(stage="rectify", due_at=due_at) if missed is None or delivered is not None:
                missed, delivered = due_at, None  # a reworked case misses again: count the latest lapse
            case e.RectificationSubmitted(occurred_at=at) if missed is not None and delivered is None:
                delivered = at
            case _:
                pass
    if missed is None:
        return None
    return max(1, math.ceil(((delivered or now) - missed) / timedelta(days=1)))


@router.get("/exposed")
async def exposed(request: Request, week_label: Annotated[str, Query(alias="week")] = "") -> Response:
    web = web_of(request)
    zone = web.policy.timezone
    now = web.clock()
    this_week = week_of(now.astimezone(web.policy.calendar.zone).date(), zone)
    try:
        period = week(week_label[:10], zone) if week_label else this_week
    except PeriodError:
        raise WebError(404, f"「{week_label[:10]}」不是一个周次，周次写作 2026-W50。") from None
    if period.start > now:
        raise WebError(404, f"{words.week_title(period.label)}尚未开始。")
    rows = []
    for item in await exposures(web.store, web.policy, period.label):
        days = days_overdue(await web.store.load(item["case_id"]), now)
        rows.append({**item, "days": days})
    context = {
        "rows": rows,
        "week": period.label,
        "week_title": words.week_title(period.label),
        "span": words.span(period.first_day, period.last_day),
        "earlier": previous_week(period, zone).label,
        "later": None if period.label == this_week.label else _next(period.label, zone),
        "rung": next((r.name for r in web.policy.ladder if r.level == 2), "曝光"),
    }
    return render(request, "public_exposed.html", context)


def _next(label: str, zone: str) -> str:
    return week_of(week(label, zone).last_day + timedelta(days=1), zone).label
