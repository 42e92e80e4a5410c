"""随手拍 on the web, server side, against a real stack (embedded PostgreSQL, Temporal's time-skipping server): the
form names each problem beside its field and loses nothing (the photo included); a report files through the SDK's
intake, so a retried form files once and a repeat joins the open case; photos are published only after the unit
claims the case, without EXIF; 回访 from the follow link is recorded once, after closure; filing is limited per
address; and a reporter's name, phone and e-mail never reach a public page, an export or a log.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from PIL import Image

from rectify.api.app import create_app
from rectify.audit.bundle import export_bundle
from rectify.bulletins.issue import issue_bulletin
from rectify.city.sampling import point_in
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.periods import week_of
from rectify.domain.types import Actor, Role
from rectify.logs import redact_text
from rectify.web.context import FilingLimit, Web
from tests.support.snap import PLANTED, gps_photo

UNIT = Actor(unit_id="st_guanyinqiao", role=Role.UNIT)
INSPECTOR = Actor(unit_id="office_inspection", role=Role.INSPECTOR)


@dataclass
class Site:
    app: Any
    stack: TestStack
    web: Web
    out: Path


@pytest.fixture(scope="module")
async def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    out = tmp_path_factory.mktemp("snap")
    async with TestStack(pg=pg) as stack:
        app = create_app(stack.client, evidence_dir=out / "evidence")
        web: Web = app.state.web
        web.filing_limit = FilingLimit(rate=1 / 3600, burst=3)
        yield Site(app, stack, web, out)


def visitor(site: Site, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=site.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://public.test")


async def blank_form(http: httpx.AsyncClient) -> dict[str, str]:
    page = (await http.get("/public/snap")).text
    hidden = dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
    return {"csrf_token": hidden["csrf_token"], "key": hidden["key"]}


def filled(site: Site, form: dict[str, str], index: int, category: str = "street_vending", **more: str) -> dict:
    place = point_in(site.stack.city, "st_guanyinqiao", index=index)
    return {
        **form,
        "category": category,
        "description": "人行道上有流动摊贩",
        "lat": str(place.lat),
        "lon": str(place.lon),
    } | more


def photo_file(data: bytes | None = None) -> dict:
    return {"photo": ("snap.jpg", data if data is not None else gps_photo(), "image/jpeg")}


def follow_path(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"]


async def case_of(http: httpx.AsyncClient, follow: str) -> str:
    page = (await http.get(follow)).text
    found = re.search(r'<p class="receipt-id mono">([^<]+)</p>', page)
    assert found, page[:2000]
    return found[1]


def problems(page: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="field-error" id="([a-z]+)-error">([^<]+)</p>', page))


async def test_the_form_names_each_problem_beside_its_field_and_keeps_what_was_typed_and_the_photo(
    site: Site,
) -> None:
    async with visitor(site, "10.1.0.1") as http:
        page = (await http.get("/public/snap")).text
        assert 'accept="image/*" capture="environment"' in page and 'name="viewport"' in page
        form = await blank_form(http)
        sent = {**form, "description": "小区门口占道经营", "phone": "12ab", "name": "张先生"}
        first = await http.post("/public/snap", data=sent, files=photo_file(b"not a photo"))
        assert first.status_code == 400
        assert problems(first.text) == {
            "photo": "照片不是可接受的图片（仅限 JPEG、PNG 或 WebP 格式的照片）",
            "place": "请在地图上点选问题位置，或使用“定位到我的位置”",
            "category": "请选择问题类别",
            "phone": "电话号码格式不对，例如 13800001234 或 023-67890000",
        }
        assert (
            "小区门口占道经营" in first.text
            and 'value="张先生"' in first.text
            and f'value="{form["key"]}"' in first.text
        )

        second = await http.post("/public/snap", data=filled(site, form, 20, phone="12ab"), files=photo_file())
        assert second.status_code == 400 and set(problems(second.text)) == {"phone"}
        kept = re.search(r'name="kept" value="([0-9a-f]{64}\.[0-9a-f]{32})"', second.text)
        assert kept and "已收到您上次选择的照片" in second.text

        expired = {**filled(site, form, 20), "csrf_token": "expired"}
        stale = await http.post("/public/snap", data=expired, files=photo_file())
        assert stale.status_code == 403 and "安全令牌已失效，本次未提交。您填写的内容已保留" in stale.text
        assert "人行道上有流动摊贩" in stale.text and 'name="kept" value=""' in stale.text  # the text back, no photo

        forged = filled(site, form, 20, kept=kept[1][:65] + "0" * 32)
        assert problems((await http.post("/public/snap", data=forged)).text) == {"photo": "请拍摄或选择一张现场照片"}
        done = await http.post("/public/snap", data=filled(site, form, 20, kept=kept[1]))  # no photo sent again
        case_id = await case_of(http, follow_path(done))
    reported = (await site.stack.store.load(case_id))[0]
    assert reported.type == "case_reported" and reported.actor.unit_id == "public_web"
    assert [r.sha256 for r in reported.evidence] == [kept[1][:64]]


async def test_a_retried_form_files_once_and_a_second_report_of_the_same_problem_joins_it(site: Site) -> None:
    async with visitor(site, "10.1.0.2") as http:
        form = await blank_form(http)
        first = follow_path(await http.post("/public/snap", data=filled(site, form, 21), files=photo_file()))
        again = follow_path(await http.post("/public/snap", data=filled(site, form, 21), files=photo_file()))
        assert again.split("?")[0] == first.split("?")[0]  # the same follow link, the same case
        case_id = await case_of(http, first)
        other = follow_path(
            await http.post("/public/snap", data=filled(site, await blank_form(http), 21), files=photo_file())
        )
        assert other.endswith("joined=1") and other.split("?")[0] != first.split("?")[0]
        assert await case_of(http, other) == case_id  # another reporter's link, to the open case it repeats
        assert "同一问题已有他人报告" in (await http.get(other)).text
    kinds = [e.type for e in await site.stack.store.load(case_id)]
    assert kinds.count("case_reported") == 1 and kinds.count("duplicate_attached") == 1


async def test_a_photo_is_published_only_after_the_unit_claims_the_case_and_without_its_exif(site: Site) -> None:
    async with visitor(site, "10.1.0.3") as http:
        form = await blank_form(http)
        follow = follow_path(
            await http.post("/public/snap", data=filled(site, form, 22, "posters_graffiti"), files=photo_file())
        )
        case_id = await case_of(http, follow)
        sha = (await site.stack.store.load(case_id))[0].evidence[0].sha256
        assert "public-photos" not in (await http.get(f"/public/reports/{case_id}")).text
        assert (await http.get(f"/public/photos/{case_id}/{sha}.jpg")).status_code == 404
        await site.stack.client.claim(case_id, UNIT)
        page = (await http.get(f"/public/reports/{case_id}")).text
        assert f'src="/public/photos/{case_id}/{sha}.jpg"' in page
        shown = await http.get(f"/public/photos/{case_id}/{sha}.jpg")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(shown.content)) as published:
        assert dict(published.getexif()) == {} and "exif" not in published.info and published.size == (800, 600)
    assert b"Exif" not in shown.content and b"TestPhone" not in shown.content
    with Image.open(site.web.evidence.path_for(sha)) as original:  # the evidence itself keeps its EXIF
        assert original.getexif().get_ifd(0x8825)


async def test_feedback_from_the_follow_link_is_recorded_once_and_only_after_closure(site: Site) -> None:
    async with visitor(site, "10.1.0.4") as http:
        form = await blank_form(http)
        follow = follow_path(
            await http.post("/public/snap", data=filled(site, form, 23, "litter_junk"), files=photo_file())
        )
        path, case_id = follow.split("?")[0], await case_of(http, follow)
        token = form["csrf_token"]
        early = await http.post(f"{path}/feedback", data={"csrf_token": token, "satisfied": "satisfied"})
        assert early.status_code == 409 and "报告办结后才能评价" in early.text
        client = site.stack.client
        await client.claim(case_id, UNIT)
        await client.submit(
            case_id, UNIT, [site.web.evidence.put(gps_photo((60, 150, 80)), "image/jpeg")], note="已清理"
        )
        await client.verify(case_id, INSPECTOR, passed=True, note="现场已清理")
        assert "您对办理结果是否满意" in (await http.get(path)).text
        blank = await http.post(f"{path}/feedback", data={"csrf_token": token, "note": "还行"})
        assert blank.status_code == 400 and problems(blank.text) == {"satisfied": "请选择满意或不满意"}
        assert "还行" in blank.text
        answer = {"csrf_token": token, "satisfied": "unsatisfied", "note": "晚上又有人贴"}
        assert follow_path(await http.post(f"{path}/feedback", data=answer)).endswith("?thanks=1")
        assert follow_path(await http.post(f"{path}/feedback", data=answer)).endswith("?thanks=1")  # a retry: the same
        changed = await http.post(f"{path}/feedback", data={**answer, "satisfied": "satisfied"})
        assert changed.status_code == 409 and "您已评价过" in changed.text
        assert "评价：<strong>不满意</strong>" in (await http.get(path)).text
    recorded = [e for e in await site.stack.store.load(case_id) if e.type == "feedback_recorded"]
    assert len(recorded) == 1 and recorded[0].satisfied is False and recorded[0].actor.unit_id == "public_web"


async def test_filing_is_limited_per_address_and_a_refused_form_keeps_everything(site: Site) -> None:
    async with visitor(site, "10.1.0.5") as http:
        for n in range(3):
            follow_path(
                await http.post("/public/snap", data=filled(site, await blank_form(http), 30 + n), files=photo_file())
            )
        form = await blank_form(http)
        refused = await http.post(
            "/public/snap", data=filled(site, form, 40, address="建新北路 1 号"), files=photo_file()
        )
        assert refused.status_code == 429
        assert "提交过于频繁，请 60 分钟后再试。您填写的内容和照片已保留。" in refused.text
        assert 'value="建新北路 1 号"' in refused.text and re.search(r'name="kept" value="[0-9a-f]{64}\.', refused.text)
    async with visitor(site, "10.1.0.6") as elsewhere:  # another address has its own bucket
        follow_path(
            await elsewhere.post("/public/snap", data=filled(site, await blank_form(elsewhere), 41), files=photo_file())
        )


async def test_a_reporters_details_never_reach_a_public_page_an_export_or_a_log(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with visitor(site, "10.1.0.7") as http:
        with structlog.testing.capture_logs() as logs:
            form = await blank_form(http)
            sent = filled(site, form, 50, "public_facilities", **PLANTED)
            follow = follow_path(await http.post("/public/snap", data=sent, files=photo_file()))
            case_id = await case_of(http, follow)
            client = site.stack.client
            await client.claim(case_id, UNIT)
            await client.submit(case_id, UNIT, [site.web.evidence.put(gps_photo((1, 2, 3)), "image/jpeg")], note="修好")
            await client.verify(case_id, INSPECTOR, passed=True)
            await http.post(
                f"{follow.split('?')[0]}/feedback", data={"csrf_token": form["csrf_token"], "satisfied": "satisfied"}
            )
            pages = [
                "/public", "/public?status=closed", "/public/map.json", f"/public/reports/{case_id}",
                f"/public/lookup?id={case_id}", "/public/exposed", "/public/snap", follow,
                "/open311/v2/requests.json?status=open,closed", f"/open311/v2/requests/{case_id}.json",
                f"/open311/v2/requests/{case_id}.xml",
            ]  # fmt: skip
            seen = {path: (await http.get(path, follow_redirects=True)).text for path in pages}
    contact = await site.stack.store.pool.fetchval("SELECT contact FROM reporter_contacts WHERE case_id = $1", case_id)
    assert contact == PLANTED  # kept where the office can call back, and nowhere else
    bundle = site.out / "bundle.zip"
    await export_bundle(site.stack.store, site.stack.city, [case_id], {"case": case_id}, bundle)
    with zipfile.ZipFile(bundle) as z:
        exported = {name: z.read(name).decode("utf-8", "replace") for name in z.namelist()}
    policy = site.stack.city.policy
    today = (await site.stack.env.get_current_time()).astimezone(policy.calendar.zone).date()
    folder = site.out / "bulletin"
    issued = await issue_bulletin(site.stack.store, policy, week_of(today, policy.timezone).label, folder, today)
    texts = [n for n in issued.files if n.endswith((".html", ".md", ".csv"))]
    bulletin = {n: (folder / n).read_text("utf-8-sig") for n in texts}
    record = await site.stack.store.pool.fetch("SELECT body::text AS body FROM events WHERE case_id = $1", case_id)
    places = {
        **{f"page {p}": t for p, t in seen.items()},
        **{f"bundle {n}": t for n, t in exported.items()},
        **{f"bulletin {n}": t for n, t in bulletin.items()},
        "the record": "\n".join(r["body"] for r in record),
        "structured logs": json.dumps(logs, ensure_ascii=False, default=str),
        "stdlib logs": caplog.text,
    }
    leaks = [f"{value!r} in {where}" for where, text in places.items() for value in PLANTED.values() if value in text]
    assert leaks == []
    assert all(re.search(r"受理报告|已办结|处理中", seen[p]) for p in pages[:2])  # the sweep read real pages
    assert case_id in seen[f"/public/reports/{case_id}"] and case_id in exported["events.jsonl"]
    assert len(bulletin) == 3 and "一、总体情况" in bulletin[next(n for n in bulletin if n.endswith(".html"))]


def test_a_follow_link_is_redacted_from_logs() -> None:
    line = "POST /public/follow/QN4f-w5kTny_96CLjQ/feedback 303"
    assert redact_text(line) == "POST /public/follow/[token]/feedback 303"
