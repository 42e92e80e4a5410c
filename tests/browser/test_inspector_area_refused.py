"""In Chromium: an inspector whose area is 华新街 opens a 观音桥 case awaiting verification: the page says, in
Chinese, that the case is outside its area, and offers no 核查 form; the case is untouched. An inspector whose
area holds 观音桥 then passes it from the same page. (A form sent from a stale page: tests/api.)"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from rectify.city.sampling import point_in
from rectify.domain.types import Actor, Channel, Role
from tests.support.browser import PASSWORD, SCREENSHOTS, Site, photo, sign_in

GUANYINQIAO = Actor(unit_id="st_guanyinqiao", role=Role.UNIT)


def submitted_case(site: Site) -> str:
    """A 观音桥街道 case reported, claimed and submitted with a photo, through the SDK."""

    async def work() -> str:
        client = site.stack.client
        ref = await client.report(
            idempotency_key="inspector-area/outside",
            category="litter_junk",
            description="人行道上堆放建筑垃圾",
            channel=Channel.SNAPSHOT,
            actor=Actor(unit_id="app_wechat", role=Role.REPORTER),
            location=point_in(site.stack.city, "st_guanyinqiao", index=21),
        )
        await client.claim(ref.case_id, GUANYINQIAO)
        after = site.web.evidence.put(photo((70, 150, 90), (90, 170, 120)), "image/png")
        await client.submit(ref.case_id, GUANYINQIAO, [after], note="已清理完毕")
        return ref.case_id

    return site.run(work())


def test_an_inspector_outside_its_area_is_told_why_and_offered_no_form(browser: Browser, site: Site) -> None:
    case_id = submitted_case(site)
    accounts = site.web.accounts
    site.run(accounts.create("zhao.jc", "office_inspection", "inspector", PASSWORD, ["st_huaxinjie"]))
    site.run(accounts.create("qian.jc", "office_inspection", "inspector", PASSWORD, ["st_guanyinqiao"]))
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "zhao.jc")
    page.goto(f"{site.url}/cases/{case_id}")
    expect(page.get_by_role("note")).to_have_text(
        "本案属地为观音桥街道，不在您的核查区域（华新街街道）内，可以查看，不能办理。请由该区域的核查员办理，或与指挥中心联系。"
    )
    expect(page.locator(f"#act-{case_id[:8]}-verify")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inspector-outside-area-1280.png"), full_page=True)
    before = site.run(site.stack.store.load(case_id))
    assert before[-2].type == "rectification_submitted"  # untouched: nothing after the unit's submission
    context.close()

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "qian.jc")
    page.goto(f"{site.url}/cases/{case_id}")
    box = page.locator(f"#act-{case_id[:8]}-verify")
    box.locator("summary").click()
    box.get_by_label("通过", exact=True).check()
    box.get_by_role("button", name="确认核查").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：核查")
    after = site.run(site.stack.store.load(case_id))
    assert [e.type for e in after[len(before) :]] == ["case_closed", "deadline_set"]
    context.close()
