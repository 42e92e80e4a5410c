"""The leaders' pages, server side, over ten simulated days (direct engine) and a real client on that store:
the week's ranking with the change from last week, trends and their charts, the quarter, a unit's cases, the
archive of bulletins with the same bytes as issued, and clear refusals in Chinese for everything else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from rich.console import Console

from rectify.api.app import create_app
from rectify.bulletins import words
from rectify.city import City
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.periods import week_of
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.web.context import Web
from rectify.web.leaders import BULLETIN_CSP
from tests.support.starts import configured_start, monday_on_or_after

PASSWORD = "leaders-pages-2026"


@dataclass
class Site:
    app: Any
    #: Signed in as the leader.
    http: httpx.AsyncClient
    city: City
    out: Path
    #: The simulated week whose bulletin is 第1期, and the week the pages call "this week".
    first: str
    this: str


async def signed_in(app: Any, name: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://leaders.test")
    form = (await http.get("/signin")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = await http.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text
    return http


@pytest.fixture(scope="module")
async def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    from rectify.city import DEFAULT_CITY_DIR, load_city

    city = load_city(DEFAULT_CITY_DIR)
    start: date = monday_on_or_after(configured_start(city.policy.calendar))
    url = await pg.create_database(f"leaders_{uuid.uuid4().hex[:8]}")
    out = tmp_path_factory.mktemp("leaders")
    config = SimConfig(seed=5, days=10, reports_per_day=25, start=start)
    options = SimOptions(config=config, engine=EngineName.DIRECT, out_dir=out, data_dir=out, database_url=url)
    await simulate(city, options, Console(quiet=True))
    async with TestStack(database_url=url) as stack:
        app = create_app(stack.client, evidence_dir=out / "evidence")
        web: Web = app.state.web
        last_day = start + timedelta(days=config.days - 1)
        web.clock = lambda: datetime.combine(last_day, time(18), city.policy.calendar.zone).astimezone(UTC)
        await web.accounts.create("liu.yang", "office_chuangwen", "leader", PASSWORD)
        await web.accounts.create("zhang.wei", "office_command", "dispatcher", PASSWORD)
        http = await signed_in(app, "liu.yang")
        zone = city.policy.timezone
        site = Site(app, http, city, out, week_of(start, zone).label, week_of(last_day, zone).label)
        try:
            yield site
        finally:
            await http.aclose()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_this_weeks_ranking_names_every_unit_in_chinese_with_its_change_from_last_week(site: Site) -> None:
    page = await site.http.get("/leader")
    assert page.status_code == 200
    html = page.text
    assert "<h1>本周排名</h1>" in html and words.week_title(site.this) in html
    shown = text_of(html)
    for unit in site.city.policy.units.values():
        if unit.kind.value in ("street", "town", "department"):
            assert f'href="/leader/units/{unit.id}"' in html and unit.name in shown, unit.id
    changes = re.findall(r'<span class="chg[^"]*" title="([^"]+)">([^<]+)</span>', html)
    assert changes and any(t.startswith(("上升", "下降")) for t, _ in changes)  # last week had its own ranking
    assert all(re.fullmatch(r"↑\d+|↓\d+|＝|—", arrow) for _, arrow in changes)
    assert "督查通报第1期" in html  # the newest bulletin, linked
    earlier = await site.http.get(f"/leader?week={site.first}")
    assert earlier.status_code == 200 and words.week_title(site.first) + "排名" in earlier.text


async def test_trends_quarter_and_a_units_page_draw_from_the_same_figures(site: Site) -> None:
    trends = await site.http.get("/leader/trends?group=departments")
    assert trends.status_code == 200 and "<h1>职能部门趋势</h1>" in trends.text
    charts = re.findall(r'<img class="trend-chart" src="([^"]+)"', trends.text)
    assert len(charts) == 3
    for src in charts:
        picture = await site.http.get(src.replace("&amp;", "&"))
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
        assert picture.content.startswith(b"\x89PNG") and len(picture.content) > 10_000
    quarter = await site.http.get("/leader/quarter")
    assert quarter.status_code == 200 and "考核</h1>" in quarter.text and "周均得分" in quarter.text
    unit = await site.http.get("/leader/units/st_guanyinqiao")
    assert unit.status_code == 200 and "<h1>观音桥街道</h1>" in unit.text
    assert words.week_title(site.first) in unit.text and words.week_title(site.this) in unit.text
    assert re.search(r'class="case-link" href="/cases/[^"]+"', unit.text)  # drill down to its cases
    assert 'href="/?status=all&amp;unit=st_guanyinqiao"' in unit.text


async def test_the_archive_serves_each_bulletin_as_html_pdf_csv_and_png_with_the_bytes_issued(site: Site) -> None:
    archive = await site.http.get("/leader/bulletins")
    assert archive.status_code == 200 and "督查通报第1期" in archive.text
    stem = f"bulletin-{site.first}-001"
    for ext in ("html", "pdf", "csv", "png"):
        href = f"/leader/bulletins/1/{stem}.{ext}?download=1"
        assert href in archive.text.replace("&amp;", "&")
        answer = await site.http.get(href)
        assert answer.status_code == 200, answer.text
        assert answer.content == (site.out / f"{stem}.{ext}").read_bytes(), ext  # rendered again, the same
        disposition = answer.headers["content-disposition"]
        assert unquote(disposition.split("UTF-8''")[1]) == f"督查通报第1期（{words.week_title(site.first)}）.{ext}"
    view = await site.http.get(f"/leader/bulletins/1/{stem}.html")
    assert view.headers["content-security-policy"] == BULLETIN_CSP and "content-disposition" not in view.headers


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/leader?week=2026-W99", 400, "周次「2026-W99」无效"),
        ("/leader?week=2999-W01", 400, "尚未开始"),
        ("/leader/quarter?q=Q5", 400, "季度「Q5」无效"),
        ("/leader/trends/everything.png", 404, "没有「everything」这一趋势图"),
        ("/leader/units/office_command", 404, "没有编码为「office_command」的责任单位"),
        ("/leader/units/st_atlantis", 404, "没有编码为「st_atlantis」的责任单位"),
        ("/leader/bulletins/9/bulletin.pdf", 404, "督查通报第9期尚未印发"),
        ("/leader/bulletins/abc/bulletin.pdf", 404, "没有第abc期督查通报"),
        ("/leader/bulletins/1/secrets.txt", 404, "没有名为「secrets.txt」的文件"),
    ],
)
async def test_bad_requests_get_a_page_in_chinese_saying_what_was_wrong(
    site: Site, path: str, status: int, says: str
) -> None:
    answer = await site.http.get(path)
    assert answer.status_code == status and says in text_of(answer.text)


async def test_only_leaders_read_these_pages(site: Site) -> None:
    dispatcher = await signed_in(site.app, "zhang.wei")
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://leaders.test")
    pdf = f"/leader/bulletins/1/bulletin-{site.first}-001.pdf"
    try:
        for path in ("/leader", "/leader/trends", "/leader/bulletins", pdf):
            refused = await dispatcher.get(path)
            assert refused.status_code == 403 and "仅向领导账号开放" in refused.text, path
            away = await anonymous.get(path)
            assert away.status_code == 303 and away.headers["location"].startswith("/signin?next="), path
        home = await site.http.get("/")
        assert 'href="/leader"' in home.text and 'href="/leader/bulletins"' in home.text  # the leader's navigation
    finally:
        await dispatcher.aclose()
        await anonymous.aclose()
