"""The staff's pages in Chromium: sign-in per role, the throttle, CSRF, a unit's scope, the case page, and every
page checked for other hosts, CSP violations and accessibility (axe-core), and photographed at 1280 and 375 px.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from rectify.web import cases
from tests.support.browser import AXE, PASSWORD, SCREENSHOTS, Site, sign_in


def case_links(page: Page) -> set[str]:
    hrefs = page.locator("a.case-link").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return {h.removeprefix("/cases/") for h in hrefs}


GUANYINQIAO = {"overdue", "closed", "submitted", "claimed", "dispatched"}
EVERY_CASE = GUANYINQIAO | {"other"}


@pytest.mark.parametrize(
    ("name", "role", "unit", "title", "sees"),
    [
        ("zhang.wei", "派遣员", "区数字城管指挥中心", "全区案件", EVERY_CASE),
        ("li.na", "责任单位", "观音桥街道", "观音桥街道 · 本单位案件", GUANYINQIAO),
        ("wang.fang", "责任单位", "华新街街道", "华新街街道 · 本单位案件", {"other"}),
        ("chen.jie", "核查员", "区督查组", "案件核查", {"submitted"}),
        ("liu.yang", "领导", "区创文办", "全区案件", EVERY_CASE),
        ("zhao.min", "审计督查", "区督查组", "全部案件（只读）", EVERY_CASE),
    ],
)
def test_each_role_signs_in_and_sees_its_cases(
    page: Page, site: Site, name: str, role: str, unit: str, title: str, sees: set[str]
) -> None:
    sign_in(page, site, name)
    expect(page).to_have_url(f"{site.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".who")).to_contain_text(name)
    expect(page.locator(".who")).to_contain_text(f"{role} · {unit}")
    assert case_links(page) == {site.cases[c] for c in sees}
    if name == "zhang.wei":  # the status words people use, with the countdown on the working calendar
        expect(page.locator(".cases")).to_contain_text("待认领")
        expect(page.locator(".cases")).to_contain_text("退单待定")
        expect(page.locator(".cases .countdown").first).to_have_text(re.compile(r"^(剩余|超期) \d+\.\d 工作小时$"))


def test_filters_and_further_pages_load_in_place(page: Page, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "PAGE_SIZE", 2)  # the server runs in this process: six cases make three pages
    sign_in(page, site, "zhang.wei")
    expect(page.locator("a.case-link")).to_have_count(2)
    for shown in (4, 6):
        page.get_by_role("link", name="加载更多").click()
        expect(page.locator("a.case-link")).to_have_count(shown)
    expect(page.get_by_role("link", name="加载更多")).to_have_count(0)
    assert case_links(page) == {site.cases[c] for c in EVERY_CASE}
    page.get_by_label("状态", exact=True).select_option(label="整改中")  # htmx swaps the list and keeps the address
    expect(page).to_have_url(re.compile(r"status=claimed"))
    expect(page.locator("a.case-link")).to_have_count(2)
    assert case_links(page) == {site.cases["claimed"], site.cases["overdue"]}


def test_sign_in_errors_stand_beside_their_fields(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/signin")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#name-error")).to_have_text("请输入账号")
    expect(page.locator("#password-error")).to_have_text("请输入密码")
    expect(page.get_by_label("账号")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("账号").fill("很" * 101)
    page.get_by_label("密码").fill("whatever-it-is")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#name-error")).to_have_text("账号不超过 100 个字符")
    expect(page.locator("#password-error")).to_have_count(0)


def test_a_wrong_password_is_throttled_and_every_attempt_recorded(page: Page, site: Site) -> None:
    for attempt in range(1, 6):
        sign_in(page, site, "locked.out", "not-the-password")
        alert = page.get_by_role("alert")
        if attempt < 5:
            expect(alert).to_have_text("账号或密码不正确。")
        else:
            expect(alert).to_contain_text("登录失败次数过多，已暂时锁定。请 15 分钟后再试。")
    sign_in(page, site, "locked.out")  # the right password, but the lock holds
    expect(page.get_by_role("alert")).to_contain_text("分钟后再试")
    expect(page).to_have_url(re.compile(r"/signin$"))
    attempts = site.run(site.web.staff.signins("locked.out"))
    assert [a.reason for a in reversed(attempts)] == ["wrong_password"] * 5 + ["throttled"]
    assert site.run(site.web.staff.locked_for(["account:locked.out"])) is not None  # kept in PostgreSQL


def test_a_form_without_its_csrf_token_is_refused(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/signin")
    for form in (
        {"name": "zhang.wei", "password": PASSWORD},
        {"name": "zhang.wei", "password": PASSWORD, "csrf_token": "forged"},
    ):
        refused = page.request.post(f"{site.url}/signin", form=form, max_redirects=0)
        assert refused.status == 403
        assert "防伪令牌不符" in refused.text()
    page.goto(f"{site.url}/")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2F$"))  # not signed in by the refused posts
    sign_in(page, site, "zhang.wei")
    assert page.request.post(f"{site.url}/signout", form={}, max_redirects=0).status == 403
    page.goto(f"{site.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("全区案件")  # still signed in
    page.get_by_role("button", name="退出").click()  # the page's own form carries the token
    expect(page).to_have_url(f"{site.url}/signin")


def test_a_unit_cannot_see_another_units_case(page: Page, site: Site) -> None:
    other = site.cases["other"]
    sign_in(page, site, "li.na")
    response = page.goto(f"{site.url}/cases/{other}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到")
    expect(page.locator("main")).to_contain_text("不在您的办理范围内")
    photo = site.run(site.stack.store.load(other))[0].evidence[0].sha256
    crafted = page.request.get(f"{site.url}/cases/{other}/evidence/{photo}")
    assert crafted.status == 404 and "不在您的办理范围内" in crafted.text()
    page.goto(f"{site.url}/?status=all&unit=st_huaxinjie")
    expect(page.get_by_role("status")).to_have_text("责任单位账号只能查看本单位案件。")
    assert other not in case_links(page)
    page.get_by_role("button", name="退出").click()
    sign_in(page, site, "wang.fang")  # the case is there, for its own unit
    assert page.goto(f"{site.url}/cases/{other}").status == 200
    assert page.request.get(f"{site.url}/cases/{other}/evidence/{photo}").status == 200


def test_the_case_page_shows_the_timeline_deadlines_photos_and_map(page: Page, site: Site) -> None:
    sign_in(page, site, "zhang.wei")
    page.goto(f"{site.url}/cases/{site.cases['closed']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("占道经营")
    expect(page.locator(".case-badges")).to_contain_text("已办结")
    timeline = page.locator(".timeline li")
    expected = [
        ("受理举报", "举报人（app_wechat）"),
        ("派遣", "系统"),
        ("认领", "观音桥街道 · 责任单位"),
        ("提交整改结果", "观音桥街道 · 责任单位"),
        ("核查通过，结案", "区督查组 · 核查员"),
    ]
    texts = timeline.all_inner_texts()
    for what, who in expected:
        assert any(what in t and who in t for t in texts), (what, who, texts)
    assert all(re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", t) for t in texts)
    expect(page.locator("#h-units + .facts")).to_contain_text("属地镇街主抓")
    expect(page.locator(".deadlines")).to_contain_text("按时完成")
    images = page.locator(".photos img")
    expect(images).to_have_count(2)
    for i in range(2):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle())
    expect(page.locator("#case-map path.leaflet-interactive").first).to_be_visible()

    page.goto(f"{site.url}/cases/{site.cases['overdue']}")
    expect(page.locator(".ladder li.is-reached")).to_have_count(2)
    expect(page.locator(".ladder li.is-reached").nth(1)).to_contain_text("曝光")
    expect(page.locator(".case-badges")).to_contain_text("第2级 曝光")
    expect(page.locator(".case-badges .countdown")).to_have_text(re.compile(r"^整改超期 \d+\.\d 工作小时$"))
    expect(page.locator(".timeline")).to_contain_text("升至第2级 曝光")


def test_disabling_or_resetting_an_account_ends_its_sessions(browser: Browser, site: Site) -> None:
    ends = {
        "to.disable": lambda: site.web.staff.disable("to.disable"),
        "to.reset": lambda: site.web.accounts.reset_password("to.reset", "another-password-1"),
    }
    for name, end in ends.items():
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, site, name)
        expect(page).to_have_url(f"{site.url}/")
        site.run(end())
        page.goto(f"{site.url}/")
        expect(page).to_have_url(re.compile(r"/signin\?next=%2F$"))
        sign_in(page, site, name)
        expect(page.get_by_role("alert")).to_have_text(
            "该账号已停用，请联系系统管理员。" if name == "to.disable" else "账号或密码不正确。"
        )
        context.close()


#: Every page: (file name, who signs in, path; a case page names its case as {case}).
PAGES = [
    ("signin", None, "/signin"),
    ("signin-error", None, "/signin#wrong"),
    ("home-dispatcher", "zhang.wei", "/"),
    ("home-unit", "li.na", "/"),
    ("home-inspector", "chen.jie", "/"),
    ("home-leader", "liu.yang", "/"),
    ("home-auditor", "zhao.min", "/?status=all"),
    ("case-closed", "zhang.wei", "/cases/{closed}"),
    ("case-overdue", "zhang.wei", "/cases/{overdue}"),
    ("case-unit", "li.na", "/cases/{claimed}"),
    ("not-found", "li.na", "/cases/{other}"),
]


def _visit(browser: Browser, site: Site, width: int, who: str | None, pages: list[tuple[str, str]]) -> list[str]:
    """Visit pages as one person at one width; returns every problem found (none is the goal)."""
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    context.add_init_script(path=str(AXE))  # through the browser's devtools, so the page's CSP stays whole
    page = context.new_page()
    problems: list[str] = []
    origin = site.url
    at = ["sign-in"]  # the page being visited, to name it in a problem
    answered = "Failed to load resource: the server responded with a status of {}"
    expected = {"not-found": answered.format("404 (Not Found)"), "signin-error": answered.format("400 (Bad Request)")}

    def console(message: Any) -> None:
        if message.type == "error" and message.text != expected.get(at[0]):
            problems.append(f"{at[0]}: console: {message.text}")

    page.on("request", lambda r: r.url.startswith((origin, "data:")) or problems.append(f"{at[0]}: request {r.url}"))
    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"{at[0]}: script error: {e}"))
    if who:
        sign_in(page, site, who)
    for slug, path in pages:
        at[0] = slug
        page.goto(origin + path.split("#")[0].format(**site.cases))
        if path.endswith("#wrong"):
            sign_in(page, site, "nobody.here", "wrong-password-0")
        if page.locator("#case-map").count():
            page.wait_for_selector("#case-map path.leaflet-interactive")
        page.wait_for_load_state("networkidle")
        refs: list[Any] = page.eval_on_selector_all(
            "[src], [href], [action]",
            "els => els.map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('action'))",
        )
        problems += [f"{slug}: refers to {r}" for r in refs if not re.match(r"^(/(?!/)|#|\?|data:)", r or "")]
        violations = page.evaluate(
            """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target)}`))"""
        )
        problems += [f"{slug} at {width}px: axe {v}" for v in violations]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-{width}.png"), full_page=True)
    context.close()
    return problems


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_loads_only_from_here_passes_axe_and_is_photographed(
    browser: Browser, site: Site, width: int
) -> None:
    by_person: dict[str | None, list[tuple[str, str]]] = {}
    for slug, who, path in PAGES:
        by_person.setdefault(who, []).append((slug, path))
    problems = [p for who, pages in by_person.items() for p in _visit(browser, site, width, who, pages)]
    assert problems == [], "\n".join(problems)
    for slug, _, _ in PAGES:
        assert (SCREENSHOTS / f"{slug}-{width}.png").stat().st_size > 10_000
