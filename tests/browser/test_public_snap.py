"""随手拍 in Chromium, against a real stack: a citizen on a phone files a report with a photo and the phone's
location; it appears on the public map; the unit claims and submits its fix on its workbench and the inspector
passes it; the public page shows it closed with the dates and both photos; the reporter answers 回访 from the
follow link. A refused location falls back to the map. The new pages pass axe-core (no serious or critical
violation) and are photographed at 1280 and 375 px (`make screenshots`). The leader's part (this week's ranking,
bulletin 第1期) is test_leader_public_pages.py's.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from rectify.bulletins.issue import exposures
from rectify.city.sampling import point_in
from rectify.domain.periods import week_of
from rectify.web.context import FilingLimit
from tests.support.browser import Site, photo, sign_in, visit
from tests.support.snap import PLANTED, gps_photo

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
CATEGORY = "garbage_sorting"


@pytest.fixture(scope="module", autouse=True)
def generous_limit(site: Site) -> None:
    site.web.filing_limit = FilingLimit(rate=1.0, burst=50)  # every test here files from 127.0.0.1


def events(site: Site, case_id: str) -> list[Any]:
    return site.run(site.stack.store.load(case_id))


def file_on_a_phone(browser: Browser, site: Site) -> tuple[Page, str, str]:
    """The citizen's phone: a photo, the phone's location, a category and a few words. (page, case id, follow link)"""
    where = point_in(site.stack.city, "st_guanyinqiao", index=25)
    phone = browser.new_context(**PHONE, geolocation={"latitude": where.lat, "longitude": where.lon})
    phone.grant_permissions(["geolocation"], origin=site.url)
    page = phone.new_page()
    page.goto(f"{site.url}/public")
    page.get_by_role("navigation", name="公众服务").get_by_role("link", name="随手拍").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("随手拍")
    camera = page.get_by_label("现场照片")
    assert (camera.get_attribute("accept"), camera.get_attribute("capture")) == ("image/*", "environment")
    camera.set_input_files({"name": "snap.jpg", "mimeType": "image/jpeg", "buffer": gps_photo()})
    expect(page.locator("#photo-preview img")).to_have_count(1)
    page.get_by_role("button", name="定位到我的位置").click()
    expect(page.locator("#place-text")).to_contain_text("已定位到您的位置")
    name = site.stack.city.policy.categories[CATEGORY].name
    page.get_by_label("问题类别").select_option(label=name)
    page.get_by_label("问题描述").fill("小区门口垃圾桶满溢，没有分类")
    page.get_by_label("具体地点").fill("建新北路 88 号小区门口")
    page.get_by_label("电话").fill(PLANTED["phone"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
    page.get_by_role("button", name="提交报告").click()
    expect(page.get_by_role("status").first).to_contain_text("报告已受理，由观音桥街道负责整改")
    case_id = page.locator(".receipt-id").inner_text().strip()
    link = page.get_by_label(re.compile("^跟踪链接")).input_value()
    assert link.startswith(f"{site.url}/public/follow/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    reported = events(site, case_id)[0]
    assert (reported.type, reported.channel, reported.actor.unit_id) == ("case_reported", "snapshot", "public_web")
    assert abs(reported.location.lat - where.lat) < 1e-5 and len(reported.evidence) == 1
    return page, case_id, link


def close_through_the_workbench(browser: Browser, site: Site, case_id: str) -> None:
    unit = browser.new_context()
    page = unit.new_page()
    sign_in(page, site, "li.na")
    page.get_by_role("link", name="工作台").click()
    card = page.locator("article.work-card", has=page.locator(f"#wc-{case_id[:8]}"))
    card.get_by_role("button", name="认领").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：认领")
    card.get_by_role("link", name=re.compile("^去办理.*提交办结")).click()
    submit = page.locator(f"#act-{case_id[:8]}-submit")
    if submit.locator("details").get_attribute("open") is None:
        submit.locator("summary").click()
    submit.get_by_label("整改说明").fill("已清运满溢垃圾，并张贴分类指引")
    fixed = photo((70, 150, 90), (90, 170, 120))
    submit.get_by_label("办结照片").set_input_files({"name": "fixed.png", "mimeType": "image/png", "buffer": fixed})
    submit.get_by_role("button", name="提交办结").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：提交办结")
    unit.close()
    inspector = browser.new_context()
    page = inspector.new_page()
    sign_in(page, site, "chen.jie")
    page.goto(f"{site.url}/verify?area=st_guanyinqiao")
    card = page.locator("article.verify-card", has=page.locator(f"#vc-{case_id[:8]}"))
    card.get_by_label("通过", exact=True).check()
    card.get_by_label("核查意见").fill("现场已清理")
    card.get_by_role("button", name="确认核查").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：核查")
    inspector.close()


def test_a_citizen_files_on_a_phone_sees_it_on_the_map_closed_with_dates_and_leaves_feedback(
    browser: Browser, site: Site
) -> None:
    phone, case_id, link = file_on_a_phone(browser, site)

    visitor = browser.new_context(viewport={"width": 1280, "height": 900})
    page = visitor.new_page()
    with page.expect_response(lambda r: "/public/map.json" in r.url) as answer:
        page.goto(f"{site.url}/public")
    assert case_id in [p[0] for p in answer.value.json()["points"]]
    page.wait_for_selector("#public-map path.leaflet-interactive")
    expect(page.locator(f'a.public-link[href="/public/reports/{case_id}"]')).to_be_visible()

    close_through_the_workbench(browser, site, case_id)

    page.goto(f"{site.url}/public/reports/{case_id}")
    expect(page.locator(".badge").first).to_have_text("已办结")
    steps = page.locator(".timeline li")
    expect(steps).to_have_count(5)
    for n, words in enumerate(["受理报告", "派至观音桥街道办理", "认领", "提交整改结果", "现场核查通过，办结"]):
        expect(steps.nth(n)).to_contain_text(words)
        expect(steps.nth(n).locator("time")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$|月"))
    expect(page.locator(".facts")).to_contain_text("办结")
    photos = page.locator(".public-photos img")
    expect(photos).to_have_count(2)  # the report's photo and the fix, both verified, both without EXIF
    for image in photos.all():
        image.scroll_into_view_if_needed()
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=image.element_handle())
    assert PLANTED["phone"] not in page.content()
    visitor.close()

    phone.goto(link)
    phone.get_by_label("满意", exact=True).check()
    phone.get_by_label("意见").fill("处理得很快")
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.get_by_role("status").first).to_have_text("感谢您的评价，已记录。")
    expect(phone.locator("#feedback-title + p, #feedback-title ~ p").first).to_contain_text("满意")
    answered = [e for e in events(site, case_id) if e.type == "feedback_recorded"]
    assert len(answered) == 1 and answered[0].satisfied and answered[0].note == "处理得很快"
    phone.context.close()


def test_a_refused_location_falls_back_to_the_map_and_a_refused_form_keeps_the_photo(
    browser: Browser, site: Site
) -> None:
    phone = browser.new_context(**PHONE)  # no permission: the phone's location is refused
    page = phone.new_page()
    page.goto(f"{site.url}/public/snap")
    page.get_by_label("现场照片").set_input_files({"name": "a.jpg", "mimeType": "image/jpeg", "buffer": gps_photo()})
    page.get_by_role("button", name="定位到我的位置").click()
    expect(page.locator("#place-text")).to_have_text("未获得定位权限，请在地图上点选问题位置")
    page.wait_for_selector("#snap-map path.leaflet-interactive")
    page.locator("#snap-map").click()  # the map's middle, inside the district
    expect(page.locator("#place-text")).to_contain_text("已选位置")
    assert page.locator("#lat").input_value() and page.locator("#lon").input_value()
    page.get_by_label("问题描述").fill("路口井盖缺失")
    page.get_by_role("button", name="提交报告").click()  # no category yet
    expect(page.locator("#category-error")).to_have_text("请选择问题类别")
    expect(page.get_by_label("问题类别")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("问题描述")).to_have_value("路口井盖缺失")
    expect(page.locator("#photo-count")).to_have_text("已收到您上次选择的照片，无需重新选择")
    expect(page.locator("#place-text")).to_contain_text("已选位置")
    phone.close()


def follow_link(site: Site, index: int) -> str:
    """A report filed through the form over plain HTTP, for its follow page."""
    with httpx.Client(base_url=site.url) as http:
        form = http.get("/public/snap").text
        hidden = dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
        where = point_in(site.stack.city, "st_huaxinjie", index=index)
        data = {
            **hidden,
            "category": "public_facilities",
            "description": "路灯不亮",
            "lat": where.lat,
            "lon": where.lon,
        }
        done = http.post("/public/snap", data=data, files={"photo": ("p.jpg", gps_photo(), "image/jpeg")})
        assert done.status_code == 303, done.text[:500]
        return done.headers["location"].split("?")[0]


@pytest.mark.parametrize("width", [1280, 375])
def test_the_new_public_pages_load_only_from_here_pass_axe_and_are_photographed(
    browser: Browser, site: Site, width: int
) -> None:
    pages = [
        ("public-snap", "/public/snap"),
        ("public-follow", follow_link(site, width % 7) + "?filed=1"),  # a place of its own: no duplicate
        ("public-exposed", "/public/exposed"),
    ]
    problems = visit(browser, site, width, None, pages)
    assert problems == [], "\n".join(problems)


def test_the_exposure_list_shows_this_weeks_exposed_cases_as_the_bulletin_does(browser: Browser, site: Site) -> None:
    policy = site.stack.city.policy
    label = week_of(site.web.clock().astimezone(policy.calendar.zone).date(), policy.timezone).label
    published = site.run(exposures(site.stack.store, policy, label))
    assert [x["case_id"] for x in published] == [site.cases["overdue"]]  # the seeded case that reached 曝光
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{site.url}/public")
    page.get_by_role("navigation", name="公众服务").get_by_role("link", name="曝光台").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("曝光台")
    rows = page.get_by_role("table", name=re.compile("曝光问题")).locator("tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(0)).to_have_text("观音桥街道")
    expect(cells.nth(1)).to_have_text(published[0]["category"])
    expect(cells.nth(2)).to_have_text("观音桥步行街北入口")
    expect(cells.nth(3)).to_have_text(re.compile(r"^超期 [1-9]\d* 天$"))
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(f"{site.url}/public/reports/{site.cases['overdue']}")
    expect(page.locator(".timeline")).to_contain_text("超过整改时限，已曝光")
    context.close()
