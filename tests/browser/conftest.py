"""Browser tests: Debian's Chromium driven by pytest-playwright, against a real stack and the web server.

The stack (embedded PostgreSQL, Temporal's time-skipping server, the in-process worker) and uvicorn run in
a thread with its own event loop, so the tests use pytest-playwright's synchronous fixtures; `Site.run`
runs a coroutine on that loop. Everything stops when the module's tests end, failures included.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from rectify.activities.evidence import EvidenceStore
from rectify.api.app import create_app
from rectify.api.serve import serving_app
from rectify.city.sampling import point_in
from rectify.devstack import EmbeddedPostgres, TestStack, free_port
from rectify.domain.types import Actor, Channel, EvidenceRef, Role
from rectify.web.context import Web

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

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


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's chromium by its path: `playwright install` would download a browser, which cannot work here."""
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium and fonts-noto-cjk: `make test` installs them as root, "
                    "or run `sudo apt-get install chromium fonts-noto-cjk`")  # fmt: skip
    return {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


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


async def _seed(stack: TestStack, web: Web, evidence_dir: Path) -> dict[str, str]:
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

    async def report(name: str, territory: str, index: int, text: str, address: str, *, category: str = "street_vending",
                     channel: Channel = Channel.SNAPSHOT, evidence: tuple[EvidenceRef, ...] = ()) -> str:  # fmt: skip
        ref = await client.report(
            idempotency_key=f"web-test/{name}", category=category, description=text, channel=channel, actor=reporter,
            location=point_in(city, territory, index=index), address=address, evidence=evidence,
        )  # fmt: skip
        cases[name] = ref.case_id
        return ref.case_id

    overdue = await report("overdue", "st_guanyinqiao", 1, "步行街入口流动摊贩占道经营，晚高峰影响通行",
                           "观音桥步行街北入口", channel=Channel.HOTLINE)  # fmt: skip
    await client.claim(overdue, guanyinqiao)
    for _ in range(24 * 30):  # hour by hour until the second rung (曝光), whatever the calendar holds
        row = await stack.store.get_case(overdue)
        if row is not None and row.escalation_level >= 2:
            break
        await stack.env.sleep(timedelta(hours=1))
    closed = await report("closed", "st_guanyinqiao", 2, "小区门口流动摊贩占道经营，油烟扰民", "建新北路 66 号小区门口",
                          evidence=(before,))  # fmt: skip
    await client.claim(closed, guanyinqiao)
    await client.submit(closed, guanyinqiao, [after], note="已劝离摊贩，现场已清扫")
    await client.verify(closed, inspector, passed=True, note="现场核查已整改到位")
    submitted = await report("submitted", "st_guanyinqiao", 3, "人行道上摆摊售卖水果", "北城天街东侧人行道",
                             channel=Channel.VOLUNTEER, evidence=(before,))  # fmt: skip
    await client.claim(submitted, guanyinqiao)
    await client.submit(submitted, guanyinqiao, [after], note="摊位已撤离")
    claimed = await report("claimed", "st_guanyinqiao", 4, "夜市摊点占用盲道", "嘉陵一村路口", channel=Channel.INSPECTION)
    await client.claim(claimed, guanyinqiao)
    await report("dispatched", "st_guanyinqiao", 5, "早餐摊点占道经营", "洋河花园南门")
    other = await report("other", "st_huaxinjie", 0, "菜市场外马路市场占道经营", "华新街菜市场西侧", evidence=(before,))
    await client.dispute(other, huaxinjie, reason="该路段属观音桥街道辖区，请改派")
    return cases


@pytest.fixture(scope="module")
def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    evidence_dir = tmp_path_factory.mktemp("web-evidence")
    holder: dict[str, Any] = {}
    ready = threading.Event()

    async def serve() -> None:
        stop = holder["stop"] = asyncio.Event()
        async with TestStack(pg=pg) as stack:
            app = create_app(stack.client, evidence_dir=evidence_dir)
            web: Web = app.state.web
            web.set_secret(secrets.token_urlsafe(32))
            cases = await _seed(stack, web, evidence_dir)
            # The time-skipping server's clock ran ahead while seeding; the pages count down on that clock.
            ahead = await stack.env.get_current_time() - datetime.now(UTC)
            web.clock = lambda: datetime.now(UTC) + ahead
            async with serving_app(app, "127.0.0.1", free_port()) as url:
                holder["site"] = Site(url, asyncio.get_running_loop(), stack, web, cases)
                ready.set()
                await stop.wait()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # shown by the fixture in the test's thread
            holder["error"] = error
        finally:
            ready.set()

    thread = threading.Thread(target=main, name="web-stack", daemon=True)
    thread.start()
    ready.wait(timeout=600)
    if "site" not in holder:
        thread.join(timeout=60)
        raise RuntimeError("the stack and web server did not start") from holder.get("error")
    site: Site = holder["site"]
    try:
        yield site
    finally:
        site.loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=120)
        if "error" in holder:
            raise holder["error"]
