"""Points and rounds in Chromium against a real stack: an inspector walks a round on a 375-px phone, one item failing
with a photo, through a bad signal (the form kept on the phone, sent when the network is back, its answer lost once
and sent again: recorded once); the case appears in the dispatch queue; the point turns red on the battle map, stays
red when the case closes, and turns green when the next round passes it, without a reload. The pages pass axe-core
and are photographed at 1280 and 375 px.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, Route, expect

from rectify.domain.points import ItemAnswer
from rectify.domain.types import Actor, Role
from rectify.store import inspections
from tests.support.browser import AXE, SCREENSHOTS, Site, photo, sign_in

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DISPATCHER = Actor(unit_id="office_command", role=Role.DISPATCHER)
INSPECTOR = Actor(unit_id="office_inspection", role=Role.INSPECTOR)
BIN = photo((60, 120, 60), (200, 200, 60))


def start(site: Site, round_id: str, *point_ids: str) -> Any:
    """A round started by hand, due 8 hours after it starts on the server's clock, which the time-skipping server
    runs ahead of the wall clock (the seeded overdue case took it a month ahead)."""

    async def work() -> Any:
        return await site.stack.client.start_round(
            point_ids=list(point_ids),
            actor=DISPATCHER,
            round_id=round_id,
            hours=8,
            at=await site.stack.env.get_current_time(),
        )

    return site.run(work())


def checklist(site: Site, point_id: str) -> list[str]:
    city = site.stack.city
    return [i.code for i in city.policy.inspection.point_categories[city.points[point_id].category].items]


def answer(page: Page, site: Site, point_id: str, failing: str | None) -> None:
    for code in checklist(site, point_id):
        item = page.locator(f"fieldset[data-item='{code}']")
        if code != failing:
            item.get_by_label("通过", exact=True).check()
            continue
        item.get_by_label("未通过", exact=True).check()
        photo_input = item.locator("input[type=file]")
        assert photo_input.get_attribute("capture") == "environment"
        photo_input.set_input_files([{"name": "bin.png", "mimeType": "image/png", "buffer": BIN}])
        expect(item.locator(".photo-preview img")).to_have_count(1)
        item.get_by_label("问题说明").fill("垃圾桶破损，周边散落垃圾")


def inspections_of(site: Site, point_id: str) -> list[str]:
    return [e.type for e in site.run(inspections.point_records(site.stack.store.pool, point_id))]


def marker(page: Page, point_id: str) -> Any:
    return page.locator(f"#points-map path[data-point='{point_id}']")


def test_a_round_on_a_phone_through_a_bad_signal_then_red_and_green_on_the_battle_map(
    browser: Browser, site: Site
) -> None:
    walk = start(site, "phone-1", "p017", "p018")
    failing = checklist(site, "p017")[1]
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    sign_in(page, site, "chen.jie")
    page.get_by_role("link", name="巡查").click()
    page.get_by_role("link", name="phone-1").click()
    expect(page.locator("#round-map[data-loaded]")).to_have_count(1)
    expect(page.locator("#round-map path.pt")).to_have_count(2)
    page.get_by_role("link", name=f"检查 {site.stack.city.points['p017'].name}").click()

    submit = page.get_by_role("button", name="提交检查结果")
    submit.click()  # nothing chosen: each item says so, beside itself, before anything is sent
    expect(page.locator(f"#answer-{failing}-err")).to_have_text("请选择「通过」或「未通过」")
    answer(page, site, "p017", failing)
    phone.set_offline(True)  # no signal: the form stays on the phone
    page.get_by_role("button", name="提交检查结果").click()
    expect(page.locator("[data-form-saved]")).to_contain_text("检查结果已保存在本机")
    kept = page.evaluate("() => JSON.parse(localStorage.getItem('rectify.round/phone-1/p017'))")
    assert kept["pending"] and kept["photos"][f"photo-{failing}"][0].startswith("data:image/jpeg")
    assert inspections_of(site, "p017") == []

    lost: list[str] = []

    def lose_the_answer(route: Route) -> None:  # the record reaches the server; its answer does not reach the phone
        if not lost:
            lost.append(route.request.url)
            route.fetch()
            route.abort()
        else:
            route.continue_()

    page.route("**/rounds/phone-1/points/p017", lose_the_answer)
    phone.set_offline(False)
    expect(page).to_have_url(f"{site.url}/rounds/phone-1?done=p017#pt-p017", timeout=45_000)
    assert lost and inspections_of(site, "p017") == ["point_inspected", "failure_case_opened"]  # once
    assert page.evaluate("() => localStorage.getItem('rectify.round/phone-1/p017')") is None
    expect(page.get_by_role("status").first).to_have_text("已记录：" + site.stack.city.points["p017"].name)
    expect(page.locator("#pt-p017 .badge.tone-alert")).to_have_text("未通过 1 项")

    page.get_by_role("link", name=f"检查 {site.stack.city.points['p018'].name}").click()
    answer(page, site, "p018", None)
    page.get_by_role("button", name="提交检查结果").click()
    expect(page.locator("#pt-p018 .badge.tone-done")).to_have_text("全部通过")
    assert site.run(site.stack.client.round(walk.round_id)).status.value == "completed"
    phone.close()

    records = site.run(inspections.point_records(site.stack.store.pool, "p017"))
    case_id = records[-1].case_id_opened
    office = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = office.new_page()
    sign_in(desk, site, "zhang.wei")
    desk.goto(site.url + "/command")
    expect(desk.locator(f"#queue .qi[data-case='{case_id}']")).to_have_count(1)  # in the dispatch queue

    desk.goto(site.url + "/points")
    expect(desk.locator("#points-map[data-loaded]")).to_have_count(1)
    expect(marker(desk, "p017")).to_have_attribute("data-level", "not_ready")
    expect(marker(desk, "p018")).to_have_attribute("data-level", "ready")
    expect(desk.locator(".point-row[data-point='p017']")).to_have_attribute("data-level", "not_ready")

    async def close_the_case() -> None:
        client = site.stack.client
        row = await site.stack.store.get_case(case_id)
        assert row is not None and row.point_id == "p017"
        unit = Actor(unit_id=row.lead_unit, role=Role.UNIT)
        await client.claim(case_id, unit)
        fixed = site.web.evidence.put(photo((90, 140, 90), (110, 160, 120)), "image/png")
        await client.submit(case_id, unit, [fixed], note="已更换垃圾桶并清扫")
        await client.verify(case_id, INSPECTOR, passed=True, note="现场核查已整改到位")

    site.run(close_the_case())
    desk.reload()  # the case is closed, but its item still fails until a round passes it
    expect(desk.locator(".point-row[data-point='p017']")).to_have_attribute("data-level", "not_ready")

    start(site, "phone-2", "p017")
    answers = [ItemAnswer(item=code, passed=True) for code in checklist(site, "p017")]
    site.run(site.stack.client.record_point("phone-2", "p017", INSPECTOR, answers))  # the page is not reloaded:
    expect(desk.locator(".point-row[data-point='p017']")).to_have_attribute("data-level", "ready", timeout=40_000)
    expect(marker(desk, "p017")).to_have_attribute("data-level", "ready", timeout=40_000)
    desk.goto(site.url + "/points/p017")
    expect(desk.locator(f"a[href='/cases/{case_id}']").first).to_be_visible()
    expect(desk.locator(".item-photos img")).to_have_count(1)
    office.close()


#: The pages this module adds: (file name, who, path, phone only, submit the form empty first).
PAGES = [
    ("points-battle-map", "zhang.wei", "/points", False, False),
    ("points-leader-filtered", "liu.yang", "/points?leader=ld_li", False, False),
    ("point-page", "zhang.wei", "/points/p001", False, False),
    ("rounds-list", "chen.jie", "/rounds", True, False),
    ("round-page", "chen.jie", "/rounds/shots", True, False),
    ("round-point-form", "chen.jie", "/rounds/shots/points/p019", True, True),
]


def test_the_points_pages_pass_axe_and_are_photographed(browser: Browser, site: Site) -> None:
    start(site, "shots", "p019", "p020", "p021")
    start(site, "colours", *(f"p{n:03}" for n in range(1, 9)))  # a map of three colours: one failing, seven passed

    async def walk_colours() -> None:
        bad = site.web.evidence.put(photo((150, 60, 50), (190, 90, 60)), "image/png")
        for n in range(1, 9):
            codes = checklist(site, f"p{n:03}")
            answers = [
                ItemAnswer(item=c, passed=False, evidence=(bad,), note="摊贩占道经营，影响通行")
                if n == 1 and c == codes[0]
                else ItemAnswer(item=c, passed=True)
                for c in codes
            ]
            await site.stack.client.record_point("colours", f"p{n:03}", INSPECTOR, answers)

    site.run(walk_colours())
    problems: list[str] = []
    for width in (1280, 375):
        for slug, who, path, phone_only, empty in PAGES:
            if phone_only and width != 375:
                continue
            options = PHONE if width == 375 else {"viewport": {"width": width, "height": 900}, "device_scale_factor": 1}
            context = browser.new_context(**options)
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            page.on("pageerror", lambda error, slug=slug: problems.append(f"{slug}: script error: {error}"))
            page.on(
                "request",
                lambda r, slug=slug: r.url.startswith((site.url, "data:")) or problems.append(f"{slug}: {r.url}"),
            )
            sign_in(page, site, who)
            page.goto(site.url + path)
            if page.locator("#points-map, #round-map").count():
                page.wait_for_selector("#points-map[data-loaded], #round-map[data-loaded]")
            if empty:  # one item passed, one failed with its photo but no note: the problem beside its field
                codes = checklist(site, "p019")
                page.locator(f"fieldset[data-item='{codes[0]}']").get_by_label("通过", exact=True).check()
                second = page.locator(f"fieldset[data-item='{codes[1]}']")
                second.get_by_label("未通过", exact=True).check()
                second.locator("input[type=file]").set_input_files(
                    [{"name": "bin.png", "mimeType": "image/png", "buffer": BIN}]
                )
                expect(second.locator(".photo-preview img")).to_have_count(1)
                page.get_by_role("button", name="提交检查结果").click()
                expect(second.locator(f"#note-{codes[1]}-err")).to_have_text("未通过的检查项须填写问题说明")
            page.wait_for_load_state("networkidle")
            violations = page.evaluate(
                """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target)}`))"""
            )
            problems.extend(f"{slug} at {width}px: axe {v}" for v in violations)
            if width == 375 and page.evaluate("document.documentElement.scrollWidth") > 375:
                problems.append(f"{slug}: wider than the phone")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{slug}-{width}.png"), full_page=True)
            context.close()
    assert problems == [], "\n".join(problems)
