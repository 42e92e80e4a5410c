"""The public's pages, signed out, over three simulated days (direct engine): the list with filters and keyset
pages, the map's points, a report's page with its public steps and nothing personal or internal, and lookup.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from rich.console import Console

from rectify.api.app import create_app
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import CLOSED_STATUSES
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.store import EventStore
from tests.support.starts import configured_start, monday_on_or_after


@dataclass
class Public:
    http: httpx.AsyncClient
    store: EventStore


@pytest.fixture(scope="module")
async def public(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Public]:
    city = load_city(DEFAULT_CITY_DIR)
    start = monday_on_or_after(configured_start(city.policy.calendar))
    url = await pg.create_database(f"public_{uuid.uuid4().hex[:8]}")
    out = tmp_path_factory.mktemp("public")
    config = SimConfig(seed=3, days=3, reports_per_day=20, start=start)
    options = SimOptions(config=config, engine=EngineName.DIRECT, out_dir=out, data_dir=out, database_url=url)
    await simulate(city, options, Console(quiet=True))
    async with TestStack(database_url=url) as stack:
        app = create_app(stack.client, evidence_dir=out / "evidence")
        end = start + timedelta(days=config.days)
        app.state.web.clock = lambda: datetime.combine(end, time(9), city.policy.calendar.zone).astimezone(UTC)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://public.test")
        try:
            yield Public(http, stack.store)
        finally:
            await http.aclose()


def report_ids(html: str) -> list[str]:
    return re.findall(r'class="public-link" href="/public/reports/([^"]+)"', html)


async def every_page(http: httpx.AsyncClient, first: str) -> list[str]:
    ids, path = [], first
    while path:
        page = await http.get(path)
        assert page.status_code == 200
        ids += report_ids(page.text)
        more = re.search(r'href="(/public\?[^"]*after=[^"]+)">下一页', page.text)
        path = unescape(more[1]) if more else ""
    return ids


async def test_signed_out_the_list_walks_every_report_once_and_filters_by_status_and_area(public: Public) -> None:
    rows = await public.store.pool.fetch("SELECT case_id, status, territorial_unit FROM cases")
    everything = await every_page(public.http, "/public")
    assert sorted(everything) == sorted(r["case_id"] for r in rows)  # keyset pages: each report once
    closed = {r["case_id"] for r in rows if r["status"] in CLOSED_STATUSES}
    assert closed and set(await every_page(public.http, "/public?status=closed")) == closed
    area = {r["case_id"] for r in rows if r["territorial_unit"] == "st_guanyinqiao"}
    assert area and set(await every_page(public.http, "/public?area=st_guanyinqiao&status=")) == area
    page = (await public.http.get("/public")).text
    assert "处理中" in page and "已办结" in page and "<h1>问题公开</h1>" in page


async def test_the_maps_points_carry_only_id_place_and_status(public: Public) -> None:
    points = (await public.http.get("/public/map.json?status=closed")).json()["points"]
    assert points and all(len(p) == 5 and p[3] == 1 and p[4] == 0 for p in points)
    every = (await public.http.get("/public/map.json")).json()["points"]
    assert len(every) == await public.store.pool.fetchval("SELECT count(*) FROM cases WHERE lat IS NOT NULL")
    assert any(p[4] for p in every)  # overdue markers: open past its deadline on the server's clock


async def test_a_reports_page_shows_its_public_steps_and_nothing_personal_or_internal(public: Public) -> None:
    case_id = await public.store.pool.fetchval(
        """SELECT case_id FROM events WHERE type IN ('case_disputed', 'rework_ordered', 'extension_granted')
           ORDER BY position LIMIT 1"""
    )
    page = await public.http.get(f"/public/reports/{case_id}")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert "受理报告" in text and "办理过程" in text and "责任单位" in text
    events = await public.store.load(case_id)
    assert len(re.findall(r"<time datetime=", page.text)) >= 3
    private: list[Any] = []
    for event in events:
        private += [getattr(event, k, None) for k in ("reason", "note", "explanation")]
        private.append(event.actor.unit_id)  # who acted: a reporter's channel, a unit's or a person's id
    leaked = [p for p in private if p and str(p) in text]
    assert leaked == [], leaked


async def test_lookup_by_request_id_opens_the_report_or_says_what_is_wrong(public: Public) -> None:
    case_id = await public.store.pool.fetchval("SELECT case_id FROM cases LIMIT 1")
    found = await public.http.get(f"/public/lookup?id=%20{case_id}%20")
    assert found.status_code == 303 and found.headers["location"] == f"/public/reports/{case_id}"
    missing = await public.http.get("/public/lookup?id=RX-404")
    assert missing.status_code == 404 and "没有编号为「RX-404」的报告" in missing.text
    assert 'aria-invalid="true"' in missing.text  # the error stands beside the field
    empty = await public.http.get("/public/lookup?id=")
    assert empty.status_code == 400 and "请输入受理时告知您的报告编号" in empty.text
    absent = await public.http.get("/public/reports/nothing-here")
    assert absent.status_code == 404 and "没有编号为「nothing-here」的报告" in absent.text


async def test_bad_filters_are_named_beside_their_fields_not_refused(public: Public) -> None:
    page = await public.http.get("/public?category=unicorns&status=lost&area=atlantis&since=yesterday")
    assert page.status_code == 200
    for note in ("没有这一问题类别", "状态只有处理中和已办结", "没有这一街道或镇", "日期格式应为 2026-12-01"):
        assert note in page.text
