"""The battle map, a point's page and the inspector's checklist, server side, on a real stack (time-skipping Temporal,
embedded PostgreSQL): a point recorded through the form with one item failing and its photo, problems beside their
items in Chinese, a resent form answered once, a second record refused as its rule in words, the point red on the
map with its case linked and its photo served, the filters, and each viewer kept to their scope.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from rectify.api.app import create_app
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.store import inspections
from tests.support.scenario import DISPATCHER

PASSWORD = "points-pages-2026"
ACCOUNTS = {
    "chen.jie": ("office_inspection", "inspector"),
    "zhang.wei": ("office_command", "dispatcher"),
    "li.na": ("st_guanyinqiao", "unit"),
    "liu.yang": ("office_chuangwen", "leader"),
}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 60, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Site:
    app: Any
    stack: TestStack
    who: dict[str, httpx.AsyncClient]


async def signed_in(app: Any, name: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://points.test")
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await http.get("/signin")).text)
    assert token is not None
    answer = await http.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text
    return http


@pytest.fixture(scope="module")
async def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with TestStack(pg=pg) as stack:
        app = create_app(stack.client, evidence_dir=tmp_path_factory.mktemp("points-evidence"))
        for name, (unit, role) in ACCOUNTS.items():
            await app.state.web.accounts.create(name, unit, role, PASSWORD)
        who = {name: await signed_in(app, name) for name in ACCOUNTS}
        try:
            yield Site(app, stack, who)
        finally:
            for http in who.values():
                await http.aclose()


async def opened_form(http: httpx.AsyncClient, path: str) -> dict[str, str]:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    found = dict(re.findall(r'name="(csrf_token|command_id)" value="([^"]+)"', page.text))
    assert set(found) == {"csrf_token", "command_id"}
    return found


def checklist(site: Site, point_id: str) -> list[str]:
    policy = site.stack.city.policy
    return [i.code for i in policy.inspection.point_categories[site.stack.city.points[point_id].category].items]


async def test_a_point_is_recorded_once_through_the_form_and_turns_red_with_its_case(site: Site) -> None:
    await site.stack.client.start_round(point_ids=["p001", "p002"], actor=DISPATCHER, round_id="web-walk")
    inspector = site.who["chen.jie"]
    listed = await inspector.get("/rounds")
    assert "web-walk" in listed.text and "已记录 0 / 2 个点位" in listed.text
    round_page = await inspector.get("/rounds/web-walk")
    assert 'href="/rounds/web-walk/points/p001"' in round_page.text and 'id="round-map"' in round_page.text
    form_path = "/rounds/web-walk/points/p001"
    form = await opened_form(inspector, form_path)
    assert 'capture="environment"' in (await inspector.get(form_path)).text
    items = checklist(site, "p001")

    empty = await inspector.post(form_path, data=form)  # nothing chosen: each item says so, beside itself
    assert empty.status_code == 422
    assert empty.text.count("请选择「通过」或「未通过」") == len(items)
    assert f'id="answer-{items[0]}-err" data-error-for="answer-{items[0]}">请选择' in empty.text

    answers = {f"answer-{c}": "pass" for c in items} | {f"answer-{items[1]}": "fail"}
    bare = await inspector.post(form_path, data=form | answers, headers={"x-round-form": "1"})
    assert bare.status_code == 422
    assert bare.json()["errors"] == {
        f"photo-{items[1]}": "未通过的检查项须拍摄现场照片",
        f"note-{items[1]}": "未通过的检查项须填写问题说明",
    }
    not_a_photo = {f"photo-{items[1]}": ("p.png", b"not an image", "image/png")}
    refused = await inspector.post(
        form_path,
        data=form | answers | {f"note-{items[1]}": "垃圾桶满溢"},
        files=not_a_photo,
        headers={"x-round-form": "1"},
    )
    assert refused.json()["errors"] == {f"photo-{items[1]}": "第 1 张不是可用的照片（须为 JPEG、PNG 或 WebP 图片）"}
    assert await inspections.point_records(site.stack.store.pool, "p001") == []

    filled = form | answers | {f"note-{items[1]}": "垃圾桶满溢，周边有散落垃圾"}
    photos = {f"photo-{items[1]}": ("bin.png", png(), "image/png")}
    sent = await inspector.post(form_path, data=filled, files=photos)
    assert sent.status_code == 303 and sent.headers["location"] == "/rounds/web-walk?done=p001#pt-p001"
    again = await inspector.post(form_path, data=filled, files=photos, headers={"x-round-form": "1"})
    assert again.json() == {"ok": True, "redirect": "/rounds/web-walk?done=p001#pt-p001"}  # answered, not twice
    records = await inspections.point_records(site.stack.store.pool, "p001")
    assert [r.type for r in records] == ["point_inspected", "failure_case_opened"]

    assert "本点位已在本轮巡查中记录" in (await inspector.get(form_path)).text
    other = form | {"command_id": str(uuid.uuid4())}  # a second form for the same point: the rule, in words
    twice = await inspector.post(form_path, data=filled | other, files=photos, headers={"x-round-form": "1"})
    assert twice.status_code == 409
    assert twice.json()["rule"] == "wrong_status" and "已在本轮巡查中记录过" in twice.json()["alert"]

    office = site.who["zhang.wei"]
    markers = {p["id"]: p for p in (await office.get("/points/map.json")).json()["points"]}
    assert len(markers) == len(site.stack.city.points)
    assert markers["p001"]["level"] == "not_ready" and markers["p001"]["label"] == "未达标"
    assert markers["p003"]["level"] == "stale" and markers["p003"]["reasons"] == "从未检查"
    board = await office.get("/points")
    assert board.status_code == 200 and 'data-point="p001" data-level="not_ready"' in board.text
    assert "攻坚作战图" in board.text and "包点区领导" in board.text and 'hx-trigger="every 15s"' in board.text

    case_id = next(r for r in records if r.type == "failure_case_opened").case_id_opened  # type: ignore[union-attr]
    point = await office.get("/points/p001")
    assert f'href="/cases/{case_id}"' in point.text and "未通过" in point.text and "垃圾桶满溢" in point.text
    shot = re.search(r'src="(/points/p001/photos/[0-9a-f]{64})"', point.text)
    assert shot is not None
    image = await office.get(shot[1])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert (await site.who["liu.yang"].get(shot[1])).status_code == 403  # leaders read, photos go to who works


async def test_the_filters_and_each_viewers_scope(site: Site) -> None:
    office = site.who["zhang.wei"]
    city = site.stack.city
    led = (await office.get("/points/map.json?leader=ld_li&category=farmers_market")).json()["points"]
    expected = {p.point_id for p in city.points.values() if p.leader == "ld_li" and p.category == "farmers_market"}
    assert {p["id"] for p in led} == expected and expected
    unknown = (await office.get("/points/map.json?leader=nobody")).json()["points"]
    assert len(unknown) == len(city.points)  # an unknown choice is no filter

    unit = site.who["li.na"]
    theirs = {p["id"] for p in (await unit.get("/points/map.json")).json()["points"]}
    mine = {p.point_id for p in city.points.values() if "st_guanyinqiao" in (p.territorial_unit, *p.guarantee_units)}
    assert theirs == mine and "p001" not in theirs
    refused = await unit.get("/points/p001")
    assert refused.status_code == 403 and "不属于本单位" in refused.text
    assert (await unit.get("/rounds")).status_code == 403
    assert (await office.get("/points/nowhere")).status_code == 404

    walk = await site.stack.client.start_round(point_ids=["p017"], actor=DISPATCHER, round_id="web-scope")
    form_path = f"/rounds/{walk.round_id}/points/p017"
    office_form = await opened_form(site.who["chen.jie"], form_path)
    answers = {f"answer-{c}": "pass" for c in checklist(site, "p017")}
    token = dict(re.findall(r'name="(csrf_token)" value="([^"]+)"', (await office.get("/points")).text))
    by_office = await office.post(form_path, data=office_form | token | answers)
    assert by_office.status_code == 403 and "只有执行本轮巡查的督查人员可以记录" in by_office.text
    assert await inspections.point_records(site.stack.store.pool, "p017") == []
