"""What the browser tests share: the accounts and the cases they seed, and the site they run against."""

from __future__ import annotations

import asyncio
import io
import os
import re
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page

from rectify.city.sampling import point_in
from rectify.devstack import TestStack
from rectify.domain.types import Actor, Channel, EvidenceRef, Role
from rectify.store.evidence import EvidenceStore
from rectify.web.context import Web

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Sign-in name → (unit, role). Passwords are `PASSWORD`.
ACCOUNTS = {
    "zhang.wei": ("office_command", "dispatcher"),
    "li.na": ("st_guanyinqiao", "unit"),
    "wang.fang": ("st_huaxinjie", "unit"),
    "chen.jie": ("office_inspection", "inspector"),
    "liu.yang": ("office_chuangwen", "leader"),
    "zhao.min": ("office_inspection", "auditor"),
    "locked.out": ("st_guanyinqiao", "unit"),
    "to.disable": ("st_guanyinqiao", "unit"),
    "to.reset": ("office_command", "dispatcher"),
}
PASSWORD = "correct-horse-2026"


@dataclass
class Site:
    url: str
    loop: asyncio.AbstractEventLoop
    stack: TestStack
    web: Web
    #: A name per seeded case → its id.
    cases: dict[str, str] = field(default_factory=dict)

    def run(self, work: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)


def photo(colour: tuple[int, int, int], stripes: tuple[int, int, int]) -> bytes:
    """A small picture that reads as a photo at a glance: a street-like scene in two colours."""
    image = Image.new("RGB", (640, 480), (214, 222, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 300, 640, 480), fill=(120, 124, 130))
    draw.polygon([(250, 480), (390, 480), (330, 300), (310, 300)], fill=(160, 164, 170))
    draw.rectangle((40, 120, 220, 300), fill=colour)
    draw.rectangle((420, 150, 600, 300), fill=stripes)
    for x in range(60, 200, 30):
        draw.rectangle((x, 140, x + 15, 180), fill=(240, 240, 235))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def seed(stack: TestStack, web: Web, evidence_dir: Path) -> dict[str, str]:
    """Accounts for every role and cases in several states, one of them overdue up to the second rung."""
    for name, (unit, role) in ACCOUNTS.items():
        await web.accounts.create(name, unit, role, PASSWORD)
    client, city = stack.client, stack.city
    store = EvidenceStore(evidence_dir)
    before: EvidenceRef = store.put(photo((176, 64, 48), (200, 150, 60)), "image/png")
    after: EvidenceRef = store.put(photo((90, 140, 90), (110, 160, 120)), "image/png")
    reporter = Actor(unit_id="app_wechat", role=Role.REPORTER)
    guanyinqiao = Actor(unit_id="st_guanyinqiao", role=Role.UNIT)
    huaxinjie = Actor(unit_id="st_huaxinjie", role=Role.UNIT)
    inspector = Actor(unit_id="office_inspection", role=Role.INSPECTOR)
    cases: dict[str, str] = {}

    async def report(
        name: str,
        territory: str,
        index: int,
        text: str,
        address: str,
        *,
        category: str = "street_vending",
        channel: Channel = Channel.SNAPSHOT,
        evidence: tuple[EvidenceRef, ...] = (),
    ) -> str:
        ref = await client.report(
            idempotency_key=f"web-test/{name}",
            category=category,
            description=text,
            channel=channel,
            actor=reporter,
            location=point_in(city, territory, index=index),
            address=address,
            evidence=evidence,
        )
        cases[name] = ref.case_id
        return ref.case_id

    overdue = await report(
        "overdue",
        "st_guanyinqiao",
        1,
        "步行街入口流动摊贩占道经营，晚高峰影响通行",
        "观音桥步行街北入口",
        channel=Channel.HOTLINE,
    )
    await client.claim(overdue, guanyinqiao)
    for _ in range(24 * 30):  # hour by hour until the second rung (曝光), whatever the calendar holds
        row = await stack.store.get_case(overdue)
        if row is not None and row.escalation_level >= 2:
            break
        await stack.env.sleep(timedelta(hours=1))
    closed = await report(
        "closed",
        "st_guanyinqiao",
        2,
        "小区门口流动摊贩占道经营，油烟扰民",
        "建新北路 66 号小区门口",
        evidence=(before,),
    )
    await client.claim(closed, guanyinqiao)
    await client.submit(closed, guanyinqiao, [after], note="已劝离摊贩，现场已清扫")
    await client.verify(closed, inspector, passed=True, note="现场核查已整改到位")
    submitted = await report(
        "submitted",
        "st_guanyinqiao",
        3,
        "人行道上摆摊售卖水果",
        "北城天街东侧人行道",
        channel=Channel.VOLUNTEER,
        evidence=(before,),
    )
    await client.claim(submitted, guanyinqiao)
    await client.submit(submitted, guanyinqiao, [after], note="摊位已撤离")
    claimed = await report(
        "claimed", "st_guanyinqiao", 4, "夜市摊点占用盲道", "嘉陵一村路口", channel=Channel.INSPECTION
    )
    await client.claim(claimed, guanyinqiao)
    await report("dispatched", "st_guanyinqiao", 5, "早餐摊点占道经营", "洋河花园南门")
    other = await report("other", "st_huaxinjie", 0, "菜市场外马路市场占道经营", "华新街菜市场西侧", evidence=(before,))
    await client.dispute(other, huaxinjie, reason="该路段属观音桥街道辖区，请改派")
    return cases


ROOT = Path(__file__).resolve().parents[2]  # the checkout
AXE = ROOT / "tests" / "vendor" / "axe-core-4.14.1" / "axe.min.js"
#: Where the pages' pictures go: docs/screenshots with `make screenshots` (RECTIFY_SCREENSHOTS), else a scratch folder,
#: so that a test run leaves the checkout as it found it (the pictures show the time of the run).
SCREENSHOTS = Path(os.environ.get("RECTIFY_SCREENSHOTS") or tempfile.mkdtemp(prefix="rectify-screenshots-"))


def sign_in(page: Page, site: Site, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{site.url}/signin")
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


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
        sign_in(page, site, who)
        page.wait_for_url(f"{site.url}/")
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
