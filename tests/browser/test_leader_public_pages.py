"""The leaders' and the public's pages in Chromium: a leader opens this week's ranking and downloads bulletin 第1期
as a PDF; a signed-out visitor finds a report on the public map and list and looks one up by its id. Every page
loads only from here, passes axe-core (no serious or critical violation) and is photographed at 1280 and 375 px
(docs/screenshots with `make screenshots`).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import Browser, Page, expect

from rectify.bulletins import words
from rectify.bulletins.issue import issue_bulletin
from rectify.domain.periods import week_of
from tests.support.browser import AXE, PASSWORD, SCREENSHOTS, Site

LEADER = "liu.yang"


@pytest.fixture(scope="module")
def first_week(site: Site) -> str:
    """Bulletin 第1期, issued for the week the seeded cases fall in (on the test server's clock)."""
    policy = site.stack.city.policy
    today = site.web.clock().astimezone(policy.calendar.zone).date()
    label = week_of(today, policy.timezone).label
    folder = Path(tempfile.mkdtemp(prefix="rectify-leader-bulletins-"))
    points = tuple(site.stack.city.points.values())  # as the worker issues it, and the leaders' pages render it
    issuing = issue_bulletin(site.stack.store, policy, label, folder, today=today, points=points)
    bulletin = site.run(issuing, timeout=120)
    assert bulletin.number == 1
    return label


def sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/signin")
    page.get_by_label("账号").fill(LEADER)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{site.url}/")


def test_a_leader_opens_this_weeks_ranking_and_downloads_bulletin_1_as_a_pdf(
    page: Page, site: Site, first_week: str, tmp_path: Path
) -> None:
    sign_in(page, site)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="本周排名").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("本周排名")
    expect(page.locator(".page-head .muted")).to_contain_text(words.week_title(first_week))
    territorial = page.get_by_role("table", name=f"{words.week_title(first_week)}镇街排名")
    guanyinqiao = territorial.get_by_role("row").filter(has=page.get_by_role("link", name="观音桥街道"))
    expect(guanyinqiao.locator("td").nth(3)).to_have_text("5")  # received: the five cases seeded there
    guanyinqiao.get_by_role("link", name="观音桥街道").click()  # drill down to the unit's cases
    expect(page.get_by_role("heading", level=1)).to_have_text("观音桥街道")
    expect(page.locator("a.case-link")).to_have_count(5)

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="督查通报").click()
    expect(page.get_by_role("heading", name="督查通报第1期")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载PDF（第1期）").click()
    assert download.value.suggested_filename == f"督查通报第1期（{words.week_title(first_week)}）.pdf"
    saved = tmp_path / "bulletin.pdf"
    download.value.save_as(saved)
    document = pdfium.PdfDocument(saved)
    text = re.sub(r"\s+", "", "".join(p.get_textpage().get_text_bounded() for p in document))
    document.close()
    assert text.startswith(f"{site.stack.city.policy.city}创建文明城市工作督查通报第1期")
    assert "观音桥街道" in text and "一、总体情况" in text


PAGES = [
    ("leader-ranking", "/leader"),
    ("leader-trends", "/leader/trends"),
    ("leader-quarter", "/leader/quarter"),
    ("leader-unit", "/leader/units/st_guanyinqiao"),
    ("leader-bulletins", "/leader/bulletins"),
    ("leader-bulletin-1", "/leader/bulletins/1/bulletin-{week}-001.html"),
]


def test_a_visitor_finds_a_closed_report_on_the_public_map_and_by_its_id(page: Page, site: Site) -> None:
    closed = site.cases["closed"]
    page.goto(f"{site.url}/public?status=closed")
    expect(page.get_by_role("heading", level=1)).to_have_text("问题公开")
    page.wait_for_selector("#public-map path.leaflet-interactive")  # the city's outline, streets and the dots
    expect(page.locator(f'a.public-link[href="/public/reports/{closed}"]')).to_be_visible()
    page.get_by_label("报告编号").fill(closed)
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(f"{site.url}/public/reports/{closed}")
    expect(page.locator(".badge").first).to_have_text("已办结")
    expect(page.locator(".timeline")).to_contain_text("现场核查通过，办结")
    assert "现场核查已整改到位" not in page.content()  # the inspector's note stays inside


PUBLIC_PAGES = [
    ("public-reports", "/public"),
    ("public-report-closed", "/public/reports/{closed}"),
    ("public-report-overdue", "/public/reports/{overdue}"),
    ("public-lookup-missing", "/public/lookup?id=RX-0000"),
]


@pytest.mark.parametrize("width", [1280, 375])
def test_every_public_page_loads_only_from_here_passes_axe_and_is_photographed(
    browser: Browser, site: Site, width: int
) -> None:
    pages = [(slug, path.format(**site.cases)) for slug, path in PUBLIC_PAGES]
    problems = visit(browser, site, width, None, pages, expected_404=frozenset({"public-lookup-missing"}))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("width", [1280, 375])
def test_every_leaders_page_loads_only_from_here_passes_axe_and_is_photographed(
    browser: Browser, site: Site, first_week: str, width: int
) -> None:
    pages = [(slug, path.format(week=first_week)) for slug, path in PAGES]
    problems = visit(browser, site, width, LEADER, pages)
    assert problems == [], "\n".join(problems)


def visit(
    browser: Browser,
    site: Site,
    width: int,
    who: str | None,
    pages: list[tuple[str, str]],
    expected_404: frozenset[str] = frozenset(),
) -> list[str]:
    """Every problem met visiting the pages as one person (or signed out) at one width; each page photographed."""
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    context.add_init_script(path=str(AXE))  # through the browser's devtools, so the page's CSP stays whole
    page = context.new_page()
    problems: list[str] = []
    at = ["sign-in"]
    page.on("request", lambda r: r.url.startswith((site.url, "data:")) or problems.append(f"{at[0]}: {r.url}"))
    not_found = "Failed to load resource: the server responded with a status of 404 (Not Found)"

    def console(message: Any) -> None:
        if message.type == "error" and not (at[0] in expected_404 and message.text == not_found):
            problems.append(f"{at[0]}: console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"{at[0]}: script error: {e}"))
    if who:
        sign_in(page, site)
    for slug, path in pages:
        at[0] = slug
        page.goto(site.url + path)
        if page.locator(".leaflet-container, #public-map, #case-map").count():
            page.wait_for_selector("path.leaflet-interactive")
        page.wait_for_load_state("networkidle")
        for image in page.locator("img").all():  # every chart arrived and decoded
            assert image.evaluate("i => i.complete && i.naturalWidth > 0"), f"{slug}: {image.get_attribute('src')}"
        refs: list[Any] = page.eval_on_selector_all(
            "[src], [href], [action]",
            "els => els.map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('action'))",
        )
        problems += [f"{slug}: refers to {r}" for r in refs if re.match(r"^(?!data:)([a-z][a-z0-9+.-]*:|//)", r or "")]
        violations = page.evaluate(
            """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target)}`))"""
        )
        problems += [f"{slug} at {width}px: axe {v}" for v in violations]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-{width}.png"), full_page=True)
    context.close()
    for slug, _ in pages:
        if (SCREENSHOTS / f"{slug}-{width}.png").stat().st_size < 10_000:
            problems.append(f"{slug}: an empty screenshot")
    return problems
