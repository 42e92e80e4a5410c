"""Working cases in Chromium, against a real stack: a unit claims and submits a photo on a phone, an inspector
passes one case and sends another back, a dispute and an extension are decided on the case page, a double
submit acts once, a form sent after the session ended keeps its text, and nobody acts outside their scope or
without the form's CSRF token. The pages this adds are checked with axe-core and photographed at 1280 and 375 px.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from rectify.city.sampling import point_in
from rectify.domain.types import Actor, Channel, EvidenceRef, Role
from rectify.store import worklists
from tests.support.browser import AXE, PASSWORD, SCREENSHOTS, Site, photo, sign_in

GUANYINQIAO = Actor(unit_id="st_guanyinqiao", role=Role.UNIT)
REPORTER = Actor(unit_id="app_wechat", role=Role.REPORTER)
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
FIXED = photo((70, 150, 90), (90, 170, 120))
STILL_THERE = photo((150, 60, 50), (190, 90, 60))


def new_case(site: Site, key: str, category: str, index: int, text: str, address: str, *steps: str) -> str:
    """A case of 观音桥街道 reported with a photo, then taken through `steps` (claim, submit) by the SDK."""

    async def work() -> str:
        client = site.stack.client
        before: EvidenceRef = site.web.evidence.put(photo((176, 64, 48), (200, 150, 60)), "image/png")
        ref = await client.report(
            idempotency_key=f"case-work/{key}",
            category=category,
            description=text,
            channel=Channel.SNAPSHOT,
            actor=REPORTER,
            location=point_in(site.stack.city, "st_guanyinqiao", index=index),
            address=address,
            evidence=(before,),
        )
        assert not ref.duplicate
        if "claim" in steps:
            await client.claim(ref.case_id, GUANYINQIAO)
        if "submit" in steps:
            after = site.web.evidence.put(FIXED, "image/png")
            await client.submit(ref.case_id, GUANYINQIAO, [after], note="已清理完毕")
        return ref.case_id

    case_id = site.run(work())
    site.cases[key] = case_id
    return case_id


def events(site: Site, case_id: str) -> list[Any]:
    return site.run(site.stack.store.load(case_id))


def types(site: Site, case_id: str) -> list[str]:
    return [e.type for e in events(site, case_id)]


def action(page: Page, case_id: str, name: str) -> Any:
    return page.locator(f"#act-{case_id[:8]}-{name}")


def open_action(page: Page, case_id: str, name: str) -> Any:
    box = action(page, case_id, name)
    if box.locator("details").get_attribute("open") is None:
        box.locator("summary").click()
    return box


def test_a_unit_claims_and_submits_a_photo_on_a_phone(browser: Browser, site: Site) -> None:
    case_id = new_case(site, "phone", "posters_graffiti", 11, "电杆上贴满小广告", "建新东路公交站")
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, site, "li.na")
    page.get_by_role("link", name="工作台").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("观音桥街道 · 工作台")
    card = page.locator("article.work-card", has=page.locator(f"#wc-{case_id[:8]}"))
    expect(card).to_contain_text("待认领")
    card.get_by_role("button", name="认领").click()
    expect(page).to_have_url(re.compile(r"/workbench\?done=claim$"))
    expect(page.get_by_role("status").first).to_have_text("办理成功：认领")
    expect(card).to_contain_text("整改中")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
    card.get_by_role("link", name=re.compile("^去办理.*提交办结")).click()
    expect(page).to_have_url(re.compile(f"/cases/{case_id}#h-actions$"))

    submit = open_action(page, case_id, "submit")
    camera = submit.get_by_label("办结照片")
    assert (camera.get_attribute("accept"), camera.get_attribute("capture")) == ("image/*", "environment")
    submit.get_by_label("整改说明").fill("已铲除小广告并清洗电杆")
    camera.set_input_files({"name": "note.jpg", "mimeType": "image/jpeg", "buffer": b"this is no photo"})
    submit.get_by_role("button", name="提交办结").click()
    submit = action(page, case_id, "submit")
    expect(submit.locator(".field-error")).to_have_text("照片不是可接受的图片（仅限 JPEG、PNG 或 WebP 格式的照片）")
    expect(submit.get_by_label("办结照片")).to_have_attribute("aria-invalid", "true")
    expect(submit.get_by_label("整改说明")).to_have_value("已铲除小广告并清洗电杆")  # what was typed stays
    assert types(site, case_id)[-1] == "case_claimed"  # nothing half-written
    submit.get_by_label("办结照片").set_input_files({"name": "fixed.png", "mimeType": "image/png", "buffer": FIXED})
    expect(submit.locator(".photo-preview img")).to_have_count(1)
    submit.get_by_role("button", name="提交办结").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：提交办结")
    expect(page.locator(".case-badges")).to_contain_text("待核查")
    after = page.locator(".photo-col", has_text="整改后").locator("img")
    after.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=after.element_handle())
    submitted = events(site, case_id)[-2]
    assert submitted.type == "rectification_submitted"
    assert submitted.evidence[0].sha256 == hashlib.sha256(FIXED).hexdigest()
    assert submitted.note == "已铲除小广告并清洗电杆" and submitted.actor == GUANYINQIAO
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


def test_the_inspector_passes_one_case_sends_another_back_and_the_timeline_shows_all(
    browser: Browser, site: Site
) -> None:
    passed = new_case(site, "pass-me", "litter_junk", 12, "人行道上堆放建筑垃圾", "华新村 12 号", "claim", "submit")
    failed = new_case(site, "fail-me", "garbage_sorting", 13, "垃圾桶满溢未分类", "北滨一路 3 号", "claim", "submit")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "chen.jie")
    page.get_by_role("link", name="现场核查").click()
    page.get_by_role("link", name=re.compile("^观音桥街道")).click()
    expect(page).to_have_url(re.compile(r"/verify\?area=st_guanyinqiao$"))
    card = page.locator("article.verify-card", has=page.locator(f"#vc-{passed[:8]}"))
    expect(card.locator(".photo-pair img")).to_have_count(2)  # before and after, side by side
    expect(card).to_contain_text("观音桥街道于")  # the unit's submission, with its note
    expect(card).to_contain_text("已清理完毕")
    card.get_by_label("通过", exact=True).check()
    card.get_by_label("核查意见").fill("现场已清理干净")
    card.get_by_role("button", name="确认核查").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：核查")
    expect(page).to_have_url(re.compile(r"/verify\?area=st_guanyinqiao&done=verify$"))
    expect(page.locator(f"#vc-{passed[:8]}")).to_have_count(0)
    assert types(site, passed)[-2:] == ["case_closed", "deadline_set"]

    card = page.locator("article.verify-card", has=page.locator(f"#vc-{failed[:8]}"))
    card.get_by_role("button", name="确认核查").click()  # no result chosen: said beside the choice
    form = action(page, failed, "verify")
    expect(form.locator(".field-error")).to_have_text("请选择核查结果")
    form.get_by_label("不通过", exact=True).check()
    form.get_by_label("核查意见").fill("仍有两桶未分类")
    form.get_by_label("核查照片").set_input_files({"name": "seen.png", "mimeType": "image/png", "buffer": STILL_THERE})
    form.get_by_role("button", name="确认核查").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：核查")
    rework = events(site, failed)[-2]
    assert rework.type == "rework_ordered" and rework.note == "仍有两桶未分类"
    assert rework.evidence[0].sha256 == hashlib.sha256(STILL_THERE).hexdigest()
    page.goto(f"{site.url}/cases/{failed}")
    expect(page.locator(".case-badges")).to_contain_text("整改中")
    expect(page.locator(".case-badges")).to_contain_text("返工 1 次")
    expect(page.locator(".photo-col", has_text="核查照片").locator("img")).to_have_count(1)
    expect(page.locator(".timeline")).to_contain_text("核查意见：仍有两桶未分类；核查照片 1 张")

    page.goto(f"{site.url}/cases/{passed}")  # the whole record, in order, each with who did it
    recorded = events(site, passed)
    items = page.locator(".timeline li")
    expect(items).to_have_count(len(recorded))
    from rectify.web.labels import EVENT

    texts = items.all_inner_texts()
    for text, event in zip(texts, recorded, strict=True):
        assert EVENT[event.type] in text, (event.type, text)
    assert "区督查组 · 核查员" in texts[-2] and "现场已清理干净" in texts[-2]
    context.close()

    unit = browser.new_context(**PHONE)  # the rework reaches the unit's inbox, and is marked read there
    page = unit.new_page()
    sign_in(page, site, "li.na")
    page.goto(f"{site.url}/workbench")
    notice = page.locator("#inbox li.notice", has=page.locator(f"a[href='/cases/{failed}']")).filter(has_text="返工")
    expect(notice).to_have_class(re.compile("is-unread"))
    unread = int(page.locator(".tally-item", has_text="未读通知").locator(".tally-n").inner_text())
    notice.get_by_role("button", name=re.compile("^标为已读")).click()
    expect(page).to_have_url(re.compile(r"/workbench#inbox$"))
    expect(notice).not_to_have_class(re.compile("is-unread"))
    expect(page.locator(".tally-item", has_text="未读通知").locator(".tally-n")).to_have_text(str(unread - 1))
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#inbox li.is-unread")).to_have_count(0)
    assert site.run(worklists.unread(site.stack.store.pool, "st_guanyinqiao")) == 0
    unit.close()


def test_a_dispute_is_decided_on_the_case_page_and_a_stale_form_gets_the_rule_in_words(
    browser: Browser, site: Site
) -> None:
    case_id = new_case(site, "dispute-me", "back_alleys", 14, "背街小巷路面破损积水", "五里店某巷")
    unit = browser.new_context()
    page = unit.new_page()
    sign_in(page, site, "li.na")
    page.goto(f"{site.url}/cases/{case_id}")
    form = open_action(page, case_id, "dispute")
    form.get_by_role("button", name="确认退单").click()
    form = action(page, case_id, "dispute")
    expect(form.get_by_label("退单理由")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(f"#act-{case_id[:8]}-dispute-reason-error")).to_have_text("请填写退单理由")
    form.get_by_label("退单理由").fill("该巷道属五里店街道辖区，请改派")
    form.get_by_role("button", name="确认退单").click()
    expect(page.locator(".case-badges")).to_contain_text("退单待定")
    unit.close()

    office = browser.new_context()
    stale, fresh = office.new_page(), office.new_page()
    sign_in(stale, site, "zhang.wei")
    stale.goto(f"{site.url}/cases/{case_id}")
    expect(stale.locator(".actions-card .pending")).to_have_text("观音桥街道退单，理由：该巷道属五里店街道辖区，请改派")
    fresh.goto(f"{site.url}/cases/{case_id}")
    reassign = open_action(fresh, case_id, "reassign")
    reassign.get_by_label("改派至").select_option(label="五里店街道")
    reassign.get_by_label("改派理由").fill("核实属五里店街道辖区")
    reassign.get_by_role("button", name="确认改派").click()
    expect(fresh.locator(".case-badges")).to_contain_text("待认领")
    expect(fresh.locator("#h-units + .facts")).to_contain_text("五里店街道")
    expect(fresh.locator("#h-units + .facts")).to_contain_text("派遣员改派")

    uphold = open_action(stale, case_id, "uphold")  # the page still offers what no longer applies
    uphold.get_by_label("理由").fill("维持原派遣")
    uphold.get_by_role("button", name="确认维持派遣").click()
    alert = stale.get_by_role("alert")
    expect(alert).to_contain_text("未能维持派遣：案件当前为「待认领」，此时不能维持派遣。")
    expect(alert).to_contain_text("wrong_status")
    assert types(site, case_id).count("dispatch_upheld") == 0
    office.close()

    gone = browser.new_context()  # reassigned away: no longer 观音桥街道's to see or act on
    page = gone.new_page()
    sign_in(page, site, "li.na")
    assert page.goto(f"{site.url}/cases/{case_id}").status == 404
    gone.close()


def test_an_extension_is_asked_and_granted(browser: Browser, site: Site) -> None:
    case_id = new_case(site, "extend-me", "illegal_structures", 15, "楼顶违章搭建彩钢棚", "大石坝某小区 5 栋", "claim")
    due_before = site.run(site.stack.store.get_case(case_id)).due_at
    unit = browser.new_context()
    page = unit.new_page()
    sign_in(page, site, "li.na")
    page.goto(f"{site.url}/cases/{case_id}")
    form = open_action(page, case_id, "extend")
    expect(form).to_contain_text("每案最多延期 2 次、累计不超过 49 小时")
    form.get_by_label("延期时长（小时）").fill("三天")
    form.get_by_label("延期理由").fill("拆除须经规划部门审批")
    form.get_by_role("button", name="申请延期").click()
    form = action(page, case_id, "extend")
    expect(form.locator(".field-error")).to_have_text("延期时长（小时）请填写数字，例如 4 或 3.5")
    expect(form.get_by_label("延期理由")).to_have_value("拆除须经规划部门审批")
    form.get_by_label("延期时长（小时）").fill("8")
    form.get_by_role("button", name="申请延期").click()
    expect(page.locator(".timeline")).to_contain_text("延期 8 工作小时；理由：拆除须经规划部门审批")
    expect(action(page, case_id, "extend")).to_have_count(0)  # one request at a time
    unit.close()

    office = browser.new_context()
    page = office.new_page()
    sign_in(page, site, "zhang.wei")
    page.goto(f"{site.url}/cases/{case_id}")
    expect(page.locator(".actions-card .pending")).to_contain_text("观音桥街道申请延期 8 小时")
    form = open_action(page, case_id, "decide-extension")
    form.get_by_label("同意", exact=True).check()
    form.get_by_label("理由").fill("同意，请按期完成")
    form.get_by_role("button", name="确认延期审批").click()
    expect(page.get_by_role("status").first).to_have_text("办理成功：延期审批")
    expect(page.locator(".timeline")).to_contain_text("同意延期")
    expect(page.locator(".deadlines tr", has_text="整改").filter(has_text="已调整")).to_have_count(1)
    office.close()
    assert types(site, case_id)[-2:] == ["extension_granted", "deadline_set"]
    due_after = site.run(site.stack.store.get_case(case_id)).due_at
    calendar = site.stack.city.policy.calendar
    assert calendar.working_time_between(due_before, due_after).total_seconds() == 8 * 3600


def _form_fields(page: Page, case_id: str, name: str) -> dict[str, str]:
    box = action(page, case_id, name)
    return {
        "csrf_token": box.locator("input[name=csrf_token]").input_value(),
        "form_token": box.locator("input[name=form_token]").input_value(),
        "back": box.locator("input[name=back]").input_value(),
    }


def test_a_double_submit_acts_once(page: Page, site: Site) -> None:
    once = new_case(site, "double-post", "old_compounds", 16, "小区内飞线充电", "华新街某小区")
    twice = new_case(site, "double-click", "posters_graffiti", 17, "围墙上乱涂乱画", "观音桥某围墙")
    sign_in(page, site, "li.na")
    page.goto(f"{site.url}/cases/{once}")
    fields = _form_fields(page, once, "claim")
    answers = [page.request.post(f"{site.url}/cases/{once}/act/claim", form=fields, max_redirects=0) for _ in "ab"]
    assert [a.status for a in answers] == [303, 303]
    assert types(site, once).count("case_claimed") == 1
    page.goto(f"{site.url}/cases/{twice}")
    action(page, twice, "claim").get_by_role("button", name="认领").dblclick()
    expect(page.get_by_role("status").first).to_have_text("办理成功：认领")
    assert types(site, twice).count("case_claimed") == 1


def test_an_expired_session_keeps_what_was_typed(browser: Browser, site: Site) -> None:
    case_id = new_case(site, "expired", "garbage_sorting", 18, "分类垃圾桶破损", "嘉陵三村")
    context: BrowserContext = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "li.na")
    page.goto(f"{site.url}/cases/{case_id}")
    form = open_action(page, case_id, "dispute")
    form.get_by_label("退单理由").fill("垃圾桶由环卫所负责更换，非本街道职责")
    context.clear_cookies()  # the session ended while the form was open
    form.get_by_role("button", name="确认退单").click()
    expect(page).to_have_url(re.compile(r"/signin\?expired=kept&next="))
    expect(page.get_by_role("status")).to_contain_text("您刚才填写的内容已保留")
    assert types(site, case_id)[-1] == "deadline_set"  # nothing was done
    page.get_by_label("账号").fill("li.na")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(f"/cases/{case_id}\\?draft=.+#act-{case_id[:8]}-dispute$"))
    expect(page.get_by_role("status").first).to_contain_text("您填写的内容已恢复")
    form = action(page, case_id, "dispute")
    expect(form.get_by_label("退单理由")).to_have_value("垃圾桶由环卫所负责更换，非本街道职责")
    form.get_by_role("button", name="确认退单").click()
    expect(page.locator(".case-badges")).to_contain_text("退单待定")
    assert events(site, case_id)[-1].reason == "垃圾桶由环卫所负责更换，非本街道职责"
    context.close()


def test_no_one_acts_outside_their_scope_or_without_the_forms_csrf_token(browser: Browser, site: Site) -> None:
    theirs = site.cases["dispatched"]  # 观音桥街道's
    before = types(site, theirs)
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "wang.fang")  # 华新街街道
    own = site.cases["other"]
    page.goto(f"{site.url}/cases/{own}")
    fields = _form_fields(page, own, "suspend")  # a real form of hers, for her own case
    for crafted in ({"csrf_token": fields["csrf_token"]}, fields):
        refused = page.request.post(f"{site.url}/cases/{theirs}/act/claim", form=crafted, max_redirects=0)
        assert refused.status == 404 and "不在您的办理范围内" in refused.text()
    mismatched = page.request.post(f"{site.url}/cases/{own}/act/claim", form=fields, max_redirects=0)
    assert mismatched.status == 400 and "此表单已过期" in mismatched.text()  # a token is for one action
    context.close()

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "li.na")
    page.goto(f"{site.url}/cases/{theirs}")
    fields = _form_fields(page, theirs, "claim")
    for forged in ({**fields, "csrf_token": ""}, {**fields, "csrf_token": "forged"}):
        refused = page.request.post(f"{site.url}/cases/{theirs}/act/claim", form=forged, max_redirects=0)
        assert refused.status == 403 and "防伪令牌不符" in refused.text()
    leader = browser.new_context()
    other = leader.new_page()
    sign_in(other, site, "liu.yang")
    other.goto(f"{site.url}/cases/{theirs}")
    expect(other.locator(".actions-card")).to_have_count(0)  # leaders read
    leader.close()
    context.close()
    assert types(site, theirs) == before


#: The pages this module adds, photographed: (file name, who, path, an action to open first, sent empty or not).
PAGES = [
    ("workbench", "li.na", "/workbench", None, False),
    ("verify", "chen.jie", "/verify", None, False),
    ("case-unit-actions", "li.na", "/cases/{claimed}", "submit", False),
    ("case-form-errors", "li.na", "/cases/{dispatched}", "extend", True),
    ("case-dispatcher-dispute", "zhang.wei", "/cases/{other}", "reassign", False),
    ("case-dispatcher-extension", "zhang.wei", "/cases/{pending-extension}", "decide-extension", False),
]


def test_the_work_pages_pass_axe_and_are_photographed(browser: Browser, site: Site) -> None:
    pending = new_case(site, "pending-extension", "litter_junk", 19, "绿化带内堆放杂物", "石马河某路口", "claim")
    site.run(site.stack.client.request_extension(pending, GUANYINQIAO, 3, "需协调清运车辆"))
    problems: list[str] = []
    for width in (1280, 375):
        for slug, who, path, opened, empty in PAGES:
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
            target = path.format(**site.cases)
            page.goto(site.url + target)
            if opened:
                box = open_action(page, target.rsplit("/", 1)[-1], opened)
                if empty:  # the form comes back with every problem beside its field
                    box.locator("button[type=submit]").click()
                    expect(page.locator(".field-error").first).to_be_visible()
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
