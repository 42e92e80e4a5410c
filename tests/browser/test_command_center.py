"""指挥中心 and 大屏 in Chromium against a real stack: the queue and its filters, a report arriving live (through
Open311, over HTTP) in the queue, on the map and on the wall without a reload, an overdue case's rung, who may
look, and every page checked for other hosts and accessibility (axe-core) and photographed at 1280 and 375 px.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from rectify.api.keys import KeyStore
from rectify.city.sampling import point_in
from rectify.domain.types import Role
from tests.support.browser import AXE, SCREENSHOTS, Site, sign_in

LIVE = "[data-live='open']"


def open_command(page: Page, site: Site, path: str = "/command", who: str = "zhang.wei") -> None:
    sign_in(page, site, who)
    page.goto(site.url + path)
    expect(page.locator(LIVE).first).to_be_visible()
    page.wait_for_selector("#office-map[data-loaded]")


def queue_cases(page: Page) -> list[str]:
    return page.locator("#queue .qi").evaluate_all("items => items.map(li => li.dataset.case)")


def test_the_queue_shows_what_needs_the_office_most_urgent_first(page: Page, site: Site) -> None:
    open_command(page, site)
    expect(page.get_by_role("heading", level=1)).to_have_text("指挥中心")
    cases = queue_cases(page)
    for name in ("overdue", "other", "dispatched", "submitted"):
        assert site.cases[name] in cases, name
    assert site.cases["claimed"] not in cases and site.cases["closed"] not in cases  # nothing for the office
    assert cases[0] == site.cases["overdue"]  # the longest overdue first
    overdue = page.locator(f".qi[data-case='{site.cases['overdue']}']")
    expect(overdue.locator(".badge").first).to_have_text("超期")
    expect(overdue.locator(".rung-badge")).to_have_text("第2级 曝光")
    expect(overdue.locator(".countdown")).to_have_text(re.compile(r"^超期 \d+\.\d 工作小时$"))
    expect(overdue.locator(".qi-clock-name")).to_have_text("整改时限")
    dispute = page.locator(f".qi[data-case='{site.cases['other']}']")
    expect(dispute.locator(".badge").first).to_have_text("退单待定")
    expect(dispute.locator(".countdown")).to_have_text(re.compile(r"^(剩余|超期) \d+\.\d 工作小时$"))
    waiting = page.locator(f".qi[data-case='{site.cases['dispatched']}']")
    expect(waiting.locator(".qi-clock-name")).to_have_text("认领时限")
    expect(page.locator(".rung-tally")).to_contain_text("第2级 曝光 1")
    # the overdue case's rung shows on the map too: its marker, or the cluster holding it, in the rung's colour
    expect(page.locator("#office-map .mk-r2, #office-map .mc-late").first).to_be_visible()


def shows(page: Page, site: Site, *names: str) -> None:
    """The queue holds exactly these seeded cases (waiting for the swap in place to land)."""
    for name in names:
        expect(page.locator(f"#queue .qi[data-case='{site.cases[name]}']")).to_have_count(1)
    expect(page.locator("#queue .qi")).to_have_count(len(names))


def test_filters_narrow_the_queue_in_place_and_keep_the_address(page: Page, site: Site) -> None:
    open_command(page, site)
    page.evaluate("window.__samePage = true")
    everything = ("overdue", "other", "dispatched", "submitted")
    shows(page, site, *everything)
    page.get_by_label("来源", exact=True).select_option(label="创建热线")
    expect(page).to_have_url(re.compile(r"channel=hotline"))
    shows(page, site, "overdue")
    page.get_by_label("来源", exact=True).select_option(value="")
    shows(page, site, *everything)
    page.get_by_label("升级", exact=True).select_option(label="第2级 曝光")
    expect(page).to_have_url(re.compile(r"rung=2"))
    shows(page, site, "overdue")
    page.get_by_label("升级", exact=True).select_option(value="")
    page.get_by_label("责任单位", exact=True).select_option(label="华新街街道")
    expect(page).to_have_url(re.compile(r"unit=st_huaxinjie"))
    shows(page, site, "other")
    page.get_by_label("责任单位", exact=True).select_option(value="")
    shows(page, site, *everything)
    page.get_by_role("link", name=re.compile(r"^待核查")).click()
    expect(page).to_have_url(re.compile(r"need=verify"))
    shows(page, site, "submitted")
    page.get_by_label("来源", exact=True).select_option(label="文明义务监督员")  # the chosen need stays chosen
    expect(page).to_have_url(re.compile(r"(?=.*need=verify)(?=.*channel=volunteer)"))
    shows(page, site, "submitted")
    page.get_by_label("来源", exact=True).select_option(value="")
    expect(page).not_to_have_url(re.compile(r"channel=\w"))
    page.get_by_role("link", name=re.compile(r"^全部待办")).click()
    shows(page, site, *everything)
    assert page.evaluate("window.__samePage") is True  # all in place, no reload
    page.goto(f"{site.url}/command?channel=telepathy&rung=9&grid=nowhere")
    for note in ("来源筛选「telepathy」无效", "升级筛选「9」无效", "网格筛选「nowhere」无效"):
        expect(page.locator("#queue")).to_contain_text(note)
    shows(page, site, *everything)


def test_a_report_through_open311_appears_live_in_the_queue_on_the_map_and_on_the_wall(
    browser: Browser, page: Page, site: Site
) -> None:
    open_command(page, site)
    markers = int(page.locator("#office-map").get_attribute("data-count") or "0")
    page.evaluate("window.__samePage = true")
    wall_context = browser.new_context(viewport={"width": 1280, "height": 900})
    wall = wall_context.new_page()
    sign_in(wall, site, "liu.yang")
    wall.goto(f"{site.url}/wall")
    expect(wall.locator(LIVE)).to_be_visible()
    intake = int(wall.locator(".kpi-n").first.inner_text())

    key, _ = site.run(KeyStore(site.stack.store.pool).create("app_wechat", Role.REPORTER, "browser-test"))
    spot = point_in(site.stack.city, "town_yuzui", index=0)  # far from the other cases: a marker of its own
    answer = page.request.post(
        f"{site.url}/open311/v2/requests.json",
        form={
            "api_key": key,
            "service_code": "street_vending",
            "lat": str(spot.lat),
            "long": str(spot.lon),
            "description": "鱼嘴镇码头入口流动摊贩占道经营",
        },
    )
    assert answer.status == 200, answer.text()
    case_id = answer.json()[0]["service_request_id"]

    item = page.locator(f"#queue .qi[data-case='{case_id}']")
    expect(item).to_be_visible()
    expect(item).to_contain_text("鱼嘴镇码头入口流动摊贩占道经营")
    expect(item.locator(".badge").first).to_have_text("待认领")
    expect(item).to_have_class(re.compile(r"\bis-new\b"))
    expect(page.locator("#office-map")).to_have_attribute("data-count", str(markers + 1))
    expect(wall.locator(".kpi-n").first).to_have_text(str(intake + 1))
    assert page.evaluate("window.__samePage") is True  # the same page all along: nothing reloaded
    wall_context.close()

    marker = page.locator(f"#office-map .leaflet-marker-icon[title*='{case_id[:8]}']")
    expect(marker).to_have_class(re.compile(r"\bmk-dispatched\b"))
    marker.click()
    expect(page).to_have_url(f"{site.url}/cases/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("占道经营")


def test_only_the_office_leaders_and_auditors_watch_the_district(page: Page, site: Site) -> None:
    sign_in(page, site, "li.na")
    for path in ("/command", "/wall", "/command/map.json", "/command/stream", "/command/pick?id=00000000"):
        response = page.request.get(site.url + path)
        assert response.status == 403, path
        assert "仅向派遣员、领导和审计督查人员开放" in response.text()
    nav = page.locator(".mainnav")
    expect(nav).not_to_contain_text("指挥中心")
    page.get_by_role("button", name="退出").click()
    for who in ("liu.yang", "zhao.min"):
        sign_in(page, site, who)
        expect(page.locator(".mainnav")).to_contain_text("指挥中心")
        assert page.request.get(f"{site.url}/command").status == 200
        page.get_by_role("button", name="退出").click()


def test_the_wall_shows_the_day_the_units_and_the_latest_rungs(page: Page, site: Site) -> None:
    sign_in(page, site, "liu.yang")
    page.goto(f"{site.url}/wall")
    expect(page.locator(LIVE)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("城市管理指挥中心")
    expect(page.locator(".wall-kpis")).to_contain_text("今日受理")
    guanyinqiao = page.locator(".loads tbody tr", has_text="观音桥街道")
    expect(guanyinqiao.locator("td.n").nth(1)).to_have_text("1")  # one overdue
    expect(page.locator(".rung-list li").first).to_contain_text("第2级 曝光")
    expect(page.locator(".rung-list li").first).to_contain_text("观音桥街道")
    expect(page.locator("[data-clock]")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))
    page.wait_for_selector("#wall-map[data-loaded]")


#: The office's pages: (file name, who signs in, path, what to wait for).
PAGES = [
    ("command-dispatcher", "zhang.wei", "/command", "#office-map[data-loaded]"),
    ("command-overdue", "zhang.wei", "/command?need=overdue", "#office-map[data-loaded]"),
    ("wall-leader", "liu.yang", "/wall", "#wall-map[data-loaded]"),
]


def _visit(browser: Browser, site: Site, width: int, slug: str, who: str, path: str, ready: str) -> list[str]:
    """Visit one page as one person at one width; returns every problem found (none is the goal)."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    context.add_init_script(path=str(AXE))  # through the browser's devtools, so the page's CSP stays whole
    page = context.new_page()
    page.on("request", lambda r: r.url.startswith((site.url, "data:")) or problems.append(f"{slug}: {r.url}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"{slug}: console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"{slug}: script error: {e}"))
    sign_in(page, site, who)
    page.goto(site.url + path)
    page.wait_for_selector(ready)
    expect(page.locator(LIVE).first).to_be_visible()
    page.wait_for_timeout(400)  # the clusters' zoom animation
    refs: list[Any] = page.eval_on_selector_all(
        "[src], [href], [action], [sse-connect], [hx-get], [data-src]",
        """els => els.map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('action')
             || e.getAttribute('sse-connect') || e.getAttribute('hx-get') || e.getAttribute('data-src'))""",
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


def test_the_office_pages_load_only_from_here_pass_axe_and_are_photographed(browser: Browser, site: Site) -> None:
    problems = [p for width in (1280, 375) for page in PAGES for p in _visit(browser, site, width, *page)]
    assert problems == [], "\n".join(problems)
    for slug, _, _, _ in PAGES:
        for width in (1280, 375):
            assert (SCREENSHOTS / f"{slug}-{width}.png").stat().st_size > 10_000
