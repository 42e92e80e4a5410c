"""Weekly rankings and numbered bulletins: right, explainable, and the same every time."""

from __future__ import annotations

import asyncio
import csv
import ctypes
import io
import itertools
import json
import re
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from fontTools.ttLib import TTFont
from rich.console import Console

from rectify.bulletins import ranking
from rectify.bulletins.charts import FONT_FILE
from rectify.bulletins.issue import issue_bulletin
from rectify.bulletins.pdf import FAMILY
from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.periods import Period, PeriodError, previous_week, week_of
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.store import EventStore
from rectify.store.bulletins import issued_bulletin
from rectify.workflows.schedules import BULLETIN_SCHEDULE_ID, ensure_bulletin_schedule
from tests.support.starts import configured_start, monday_on_or_after


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


@pytest.fixture(scope="module")
def simulated_week(city: City) -> Period:
    """The simulated week: from the Monday on or after the tests' start, so its bulletin is issued on day 8."""
    zone = city.policy.timezone
    return week_of(monday_on_or_after(configured_start(city.policy.calendar)), zone)


@pytest.fixture(scope="module")
def issued_on(simulated_week: Period) -> date:
    """The Monday after the simulated week: the day its bulletin is issued."""
    return simulated_week.last_day + timedelta(days=1)


@pytest.fixture(scope="module")
async def simulated(
    pg: EmbeddedPostgres, city: City, simulated_week: Period, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    url = await pg.create_database(f"bulletins_{uuid.uuid4().hex[:8]}")
    out = tmp_path_factory.mktemp("bulletins")
    config = SimConfig(seed=9, days=8, reports_per_day=50, start=simulated_week.first_day)
    options = SimOptions(
        config=config, engine=EngineName.DIRECT, out_dir=out, data_dir=out, database_url=url, charts=False
    )
    await simulate(city, options, Console(quiet=True))
    return url, out


def csv_rows(path: Path) -> dict[str, dict]:
    """The ranking's CSV by unit id; its headings are Chinese, after a byte-order mark for spreadsheets."""
    return {r["单位编码"]: r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))}


async def test_the_simulated_monday_issues_bulletin_1_and_its_numbers_match_summary_and_a_rebuild(
    simulated: tuple[str, Path], city: City, simulated_week: Period, issued_on: date, tmp_path: Path
) -> None:
    url, out = simulated
    label, earlier = simulated_week.label, previous_week(simulated_week, city.policy.timezone).label
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulation"]["bulletins"] == [label]
    files = sorted(p.name for p in out.glob("bulletin-*"))
    assert files == [f"bulletin-{label}-001.{ext}" for ext in ("csv", "html", "md", "pdf", "png")]
    printed = csv_rows(out / f"bulletin-{label}-001.csv")
    counted = summary["weeks"][label]  # counted from the events by the simulation's own summary
    for unit, row in printed.items():
        mine = counted.get(unit, {"received": 0, "closed": 0, "closed_on_time": 0, "points": 0})
        assert (int(row["受理"]), int(row["办结"]), int(row["按期办结"]), float(row["扣分"])) == (
            mine["received"],
            mine["closed"],
            mine["closed_on_time"],
            mine["points"],
        ), unit
    assert sum(int(r["受理"]) for r in printed.values()) > 300

    store = await EventStore.connect(url)
    try:
        assert (await store.rebuild_read_models()).clean  # the facts the bulletin used equal a rebuild
        points = tuple(city.points.values())  # as the simulation (and the worker) issues it: with the points' section
        again = await issue_bulletin(store, city.policy, label, tmp_path, today=issued_on, points=points)
        assert again.number == 1
        for name in again.files:
            assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name  # byte-identical
        earlier_bulletin = await issue_bulletin(store, city.policy, earlier, tmp_path, today=issued_on)
        assert earlier_bulletin.number == 2  # numbers are given in order of first issue and never reused
        assert (await issue_bulletin(store, city.policy, label, tmp_path, today=issued_on)).number == 1
    finally:
        await store.close()


def pdf_pages(path: Path, images: Path) -> tuple[str, set[str]]:
    """The PDF's text, and the fonts its characters are set in; each page rendered to PNG (and not blank)."""
    text, fonts = "", set()
    document = pdfium.PdfDocument(path)
    for index, page in enumerate(document):
        image = page.render(scale=1.5).to_pil()
        image.save(images / f"page-{index + 1}.png")
        assert image.convert("L").getextrema()[0] < 100, f"page {index + 1} is blank"
        textpage = page.get_textpage()
        text += textpage.get_text_bounded()
        for i in range(textpage.count_chars()):
            if not chr(pdfium_c.FPDFText_GetUnicode(textpage, i)).isspace():
                name = ctypes.create_string_buffer(128)
                pdfium_c.FPDFText_GetFontInfo(textpage, i, name, len(name), None)
                fonts.add(name.value.decode().split("+")[-1])  # ABCDEF+Family: a subset's tag, then the family
    document.close()
    return text, fonts


async def test_the_bulletin_is_an_official_chinese_document_and_its_pdf_pages_render_in_the_shipped_font(
    simulated: tuple[str, Path], city: City, simulated_week: Period, tmp_path: Path
) -> None:
    url, out = simulated
    stem = f"bulletin-{simulated_week.label}-001"
    text, fonts = pdf_pages(out / f"{stem}.pdf", tmp_path)
    assert len(list(tmp_path.glob("page-*.png"))) >= 2
    flat = re.sub(r"[\s\x00-\x1f]+", "", text)  # pdfium marks a line broken inside a word with \x02
    year, number = simulated_week.label.split("-W")
    assert flat.startswith(f"{city.policy.city}创建文明城市工作督查通报第1期区创文办")
    assert f"关于{year}年第{int(number)}周" in flat
    sections = ["一、总体情况", "二、排名", "三、曝光问题", "四、扣分与问责"]
    assert [flat.index(s) for s in sections] == sorted(flat.index(s) for s in sections)
    ranked = [u.name for u in city.policy.units.values() if u.kind.value in ("street", "town", "department")]
    assert all(name in flat for name in ranked)
    assert fonts == {FAMILY.replace(" ", "-")}  # set in the font the PDF asks for
    with TTFont(FONT_FILE, lazy=True) as font:
        cmap = font.getBestCmap()
    assert {c for c in flat if ord(c) not in cmap} == set()  # and it has every glyph: none is a box
    html = (out / f"{stem}.html").read_text("utf-8")
    headings = re.findall(r"<(h[1-3]|th|title|figcaption)(?:\s[^>]*)?>(.*?)</\1>", html)
    assert headings and not [h for _, h in headings if re.search(r"[A-Za-z]", h)], "an English heading"
    body = re.sub(r"<[^>]+>", " ", html.split("<body>")[1])
    body = re.sub(r"\b[0-9a-f][0-9a-f-]{7,}\b", " ", body)  # case ids, photo and checkpoint hashes
    english = set(re.findall(r"[A-Za-z]{4,}", body))
    assert english <= {"rectify", "audit", "verify"}, english
    store = await EventStore.connect(url)
    try:
        issued = await issued_bulletin(store.pool, 1)
    finally:
        await store.close()
    assert issued is not None and issued.checkpoint is not None
    footnote = flat[flat.index("注：") :]  # the audit checkpoint's root, as a footnote
    assert f"审计检查点为第{issued.checkpoint.number}号" in footnote and issued.checkpoint.root in footnote


async def test_the_ranking_agrees_with_counts_made_directly_in_sql_from_the_events(
    simulated: tuple[str, Path], city: City, simulated_week: Period, issued_on: date
) -> None:
    url, _ = simulated
    period = simulated_week
    store = await EventStore.connect(url)
    try:
        report = await ranking.weekly(store, city.policy, period.label, today=issued_on)
        rows = await store.pool.fetch(
            """WITH w AS (SELECT * FROM events WHERE occurred_at >= $1 AND occurred_at < $2),
                    received AS (
                      SELECT coalesce(body->'routing'->>'lead_unit', body->>'to_unit') AS unit, count(*) AS n FROM w
                      WHERE type IN ('case_dispatched', 'case_reassigned') GROUP BY 1),
                    points AS (
                      SELECT body->>'unit' AS unit, sum((body->>'points')::float) AS p FROM w
                      WHERE type = 'escalation_raised' GROUP BY 1),
                    closed AS (
                      SELECT (SELECT coalesce(d.body->'routing'->>'lead_unit', d.body->>'to_unit') FROM events d
                              WHERE d.case_id = c.case_id AND d.version < c.version
                                AND d.type IN ('case_dispatched', 'case_reassigned')
                              ORDER BY d.version DESC LIMIT 1) AS unit, count(*) AS n
                      FROM w c WHERE c.type = 'case_closed' GROUP BY 1)
               SELECT r.unit, r.n AS received, coalesce(c.n, 0) AS closed, coalesce(p.p, 0) AS points
               FROM received r LEFT JOIN closed c USING (unit) LEFT JOIN points p USING (unit)""",
            period.start,
            period.end,
        )
    finally:
        await store.close()
    by_unit = {r["unit"]: r for group in report["groups"].values() for r in group}
    assert rows
    for row in rows:
        mine = by_unit[row["unit"]]
        assert (mine["received"], mine["closed"], mine["points"]) == (row["received"], row["closed"], row["points"])
    territorial = report["groups"]["territorial"]
    assert [r["score"] for r in territorial] == sorted((r["score"] for r in territorial), reverse=True)


async def test_bad_periods_and_units_are_refused_clearly(
    simulated: tuple[str, Path], city: City, simulated_week: Period, issued_on: date
) -> None:
    zone = city.policy.timezone
    first, last = simulated_week.first_day.isoformat(), simulated_week.last_day.isoformat()
    before = (simulated_week.first_day - timedelta(days=60), simulated_week.first_day - timedelta(days=30))
    store = await EventStore.connect(simulated[0])
    try:
        with pytest.raises(PeriodError, match="has not happened yet"):
            future = week_of(issued_on + timedelta(weeks=20), zone).label
            await ranking.weekly(store, city.policy, future, today=issued_on)
        with pytest.raises(ranking.UnknownUnitError, match="no unit 'st_atlantis'"):
            await ranking.unit_figures(store, city.policy, "st_atlantis", first, last)
        quiet = await ranking.unit_figures(store, city.policy, "st_cuntan", *(d.isoformat() for d in before))
        assert quiet["received"] == 0 and quiet["on_time_rate"] == 0.0 and quiet["score"] == city.policy.scoring.base
    finally:
        await store.close()


async def test_the_monday_schedule_runs_at_nine_in_shanghai_and_its_trigger_issues_a_bulletin(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    async with TestStack(pg=pg, time_skipping=False, bulletin_dir=tmp_path) as stack:
        client = stack.env.client
        assert await ensure_bulletin_schedule(client, stack.task_queue, "Asia/Shanghai")
        handle = client.get_schedule_handle(BULLETIN_SCHEDULE_ID)
        described = await handle.describe()
        upcoming = [t.astimezone(stack.city.policy.calendar.zone) for t in described.info.next_action_times]
        assert upcoming and all((t.weekday(), t.hour, t.minute) == (0, 9, 0) for t in upcoming)
        assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(upcoming))
        await handle.trigger()
        give_up = time.monotonic() + 30
        while not list(tmp_path.glob("bulletin-*-001.md")):
            assert time.monotonic() < give_up, "the triggered schedule issued no bulletin"
            await asyncio.sleep(0.2)
        await handle.delete()
