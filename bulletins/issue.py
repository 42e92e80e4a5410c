"""督查通报 第N期: the weekly supervision bulletin, in Chinese, as HTML, PDF, Markdown, CSV and a PNG chart.

A week's number is given once and kept (the `bulletins` table), with the audit checkpoint it prints and its
issue date. Nothing in the files depends on when they were rendered, so rendering a week again (the leaders'
archive does, from the store) gives the same bytes.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rectify.bulletins import ranking, words
from rectify.bulletins.charts import ranking_chart
from rectify.bulletins.pdf import html_to_pdf
from rectify.bulletins.points import points_section
from rectify.bulletins.rendering import templates
from rectify.domain.bulletin import Bulletin
from rectify.domain.inspection import InspectionPoint
from rectify.domain.periods import week
from rectify.domain.policy import Policy
from rectify.store import EventStore
from rectify.store.bulletins import IssuedBulletin, bulletin_number, issued_bulletin, issued_bulletins, rungs_reached

_ENV = templates("rectify.bulletins")
_ENV.globals["w"] = words
#: The ranking's CSV: (key in the ranking, heading a reader sees). Rates are shares 0…1, change is places gained.
CSV_COLUMNS = (
    ("place", "名次"),
    ("unit", "单位编码"),
    ("name", "单位"),
    ("score", "得分"),
    ("change", "较上周名次变化"),
    ("received", "受理"),
    ("closed", "办结"),
    ("closed_on_time", "按期办结"),
    ("on_time_rate", "按期办结率"),
    ("closure_rate", "办结率"),
    ("dispute_rate", "退单率"),
    ("rework_rate", "返工率"),
    ("points", "扣分"),
    ("open_overdue", "超期未办结"),
)


async def _rungs(store: EventStore, policy: Policy, start: datetime, end: datetime, level: int) -> list[dict]:
    """Every rung of `level` reached in the week, with where the case is and its photo's hash."""
    rows = await rungs_reached(store.pool, start, end, level)
    zone = ZoneInfo(policy.timezone)
    out = []
    for r in rows:
        report, rung = r["report"], r["rung"]
        unit = policy.units.get(rung["unit"])
        location = report.get("location") or {}
        evidence = report.get("evidence") or []
        out.append(
            {
                "case_id": r["case_id"],
                "unit": rung["unit"],
                "unit_name": unit.name if unit else rung["unit"],
                "category": policy.categories[r["category"]].name
                if r["category"] in policy.categories
                else r["category"],
                "place": report.get("address") or f"东经{location.get('lon', 0):.5f}，北纬{location.get('lat', 0):.5f}",
                "evidence": evidence[0]["sha256"] if evidence else None,
                "at": datetime.fromisoformat(rung["due_at"]).astimezone(zone).strftime("%m月%d日 %H:%M"),
                "points": rung.get("points", 0),
                "responsible_role": rung.get("responsible_role"),
            }
        )
    return out


def _csv(ranked: dict) -> bytes:
    """With a byte-order mark, so that a spreadsheet opens the Chinese headings as Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["分组", *(heading for _, heading in CSV_COLUMNS)])
    for group, rows in ranked["groups"].items():
        for row in rows:
            values = (row.get(key) for key, _ in CSV_COLUMNS)
            writer.writerow([words.GROUP.get(group, group), *("" if v is None else v for v in values)])
    return buffer.getvalue().encode("utf-8-sig")


def _totals(ranked: dict) -> dict:
    rows = [r for rows in ranked["groups"].values() for r in rows]
    totals = {k: sum(r[k] for r in rows) for k in ("received", "closed", "closed_on_time", "open_overdue")}
    totals["points"] = round(sum(r["points"] for r in rows), 2)
    totals["on_time_rate"] = totals["closed_on_time"] / totals["closed"] if totals["closed"] else None
    return totals


def stem(week_label: str, number: int) -> str:
    """The files' common name: bulletin-2026-W50-001."""
    return f"bulletin-{week_label}-{number:03d}"


def title(policy: Policy) -> str:
    return f"{policy.city}创建文明城市工作督查通报"


async def render_bulletin(
    store: EventStore,
    policy: Policy,
    issued: IssuedBulletin,
    today: date | None = None,
    points: Iterable[InspectionPoint] = (),
) -> dict[str, bytes]:
    """Every file of a numbered bulletin, by name: .html, .pdf, .md, .csv, .png."""
    zone = policy.timezone
    period = week(issued.week, zone)
    # Printed: the day it was numbered, or for one numbered before that was kept, the Monday after its week.
    issued_on = issued.issued_on or period.last_day + timedelta(days=1)
    ranked = await ranking.weekly(store, policy, issued.week, today or issued_on)
    office = policy.units.get(policy.dispatcher_units[0]) if policy.dispatcher_units else None
    name = stem(issued.week, issued.number)
    # Drawing and typesetting take a second or two of CPU: off the event loop (the worker's, the web server's).
    chart_title = f"督查通报第{issued.number}期 · {words.week_title(issued.week)}得分"
    chart = await asyncio.to_thread(ranking_chart, ranked["groups"], chart_title)
    context = {
        "title": title(policy),
        "city": policy.city,
        "office": office.name if office else policy.city,
        "number": issued.number,
        "issued_on": words.day(issued_on),
        "week_title": words.week_title(issued.week),
        "span": words.span(period.first_day, period.last_day),
        "ranking": ranked,
        "groups": words.GROUP,
        "totals": _totals(ranked),
        "exposures": await _rungs(store, policy, period.start, period.end, 2),
        "deductions": await _rungs(store, policy, period.start, period.end, 3),
        "referrals": await _rungs(store, policy, period.start, period.end, len(policy.ladder)),
        "rungs": {r.level: r.name for r in policy.ladder},
        "checkpoint": issued.checkpoint,
        "formula": words.scoring_formula(ranked["scoring"]),
        "points": await points_section(store, policy, points, period.end),
    }
    html = _ENV.get_template("bulletin.html.j2")
    inline = "data:image/png;base64," + base64.b64encode(chart).decode()
    return {
        f"{name}.html": html.render(**context, chart=f"{name}.png").encode("utf-8"),
        f"{name}.pdf": await asyncio.to_thread(html_to_pdf, html.render(**context, chart=inline)),
        f"{name}.md": _ENV.get_template("bulletin.md.j2").render(**context, chart=f"{name}.png").encode("utf-8"),
        f"{name}.csv": _csv(ranked),
        f"{name}.png": chart,
    }


async def issue_bulletin(
    store: EventStore,
    policy: Policy,
    label: str,
    out_dir: Path,
    today: date | None = None,
    points: Iterable[InspectionPoint] = (),
) -> Bulletin:
    """Render the week's bulletin into `out_dir`; the same week always gets the same number and bytes.

    `today` is the issuer's date (the workflow's or the simulation's clock); it is printed as the issue date
    when the week is numbered now, and a week that has not begun by then is refused before it gets a number.
    """
    today = today or datetime.now(ZoneInfo(policy.timezone)).date()
    await ranking.weekly(store, policy, label, today)  # a malformed or future week is refused, unnumbered
    issued = await bulletin_number(store.pool, week(label, policy.timezone).label, today)
    files = await render_bulletin(store, policy, issued, today, points)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    root = issued.checkpoint.root if issued.checkpoint else None
    return Bulletin(week=issued.week, number=issued.number, checkpoint_root=root, files=digests)


async def render_issued(
    store: EventStore, policy: Policy, number: int, points: Iterable[InspectionPoint] = ()
) -> tuple[IssuedBulletin, dict[str, bytes]] | None:
    """Bulletin 第`number`期 rendered again from the store (the same bytes as when issued), or None; numbers nothing."""
    issued = await issued_bulletin(store.pool, number)
    if issued is None:
        return None
    return issued, await render_bulletin(store, policy, issued, points=points)


async def archive(store: EventStore) -> list[tuple[int, str, date | None]]:
    """Every numbered bulletin as (number, week, issued_on), newest first: the leaders' archive 第1期 … 第N期."""
    return await issued_bulletins(store.pool)
