"""An inspector's area: the streets and towns given at `users create --role inspector --area …`, kept with the
account; /verify lists the cases awaiting verification there only, and its chooser names those streets only.
Over four simulated days (direct engine), on the store as the simulation left it."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console

from rectify.api.app import create_app
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.web.accounts import AccountError
from tests.support.starts import configured_start, monday_on_or_after

PASSWORD = "inspector-area-2026"


@dataclass
class Site:
    app: Any
    #: Submitted cases by territorial unit, as the store holds them.
    waiting: dict[str, set[str]]


@pytest.fixture(scope="module")
async def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    city = load_city(DEFAULT_CITY_DIR)
    start = monday_on_or_after(configured_start(city.policy.calendar))
    url = await pg.create_database(f"inspect_{uuid.uuid4().hex[:8]}")
    out = tmp_path_factory.mktemp("inspect")
    config = SimConfig(seed=8, days=4, reports_per_day=60, start=start)
    options = SimOptions(config=config, engine=EngineName.DIRECT, out_dir=out, data_dir=out, database_url=url)
    await simulate(city, options, Console(quiet=True))
    async with TestStack(database_url=url) as stack:
        app = create_app(stack.client, evidence_dir=out / "evidence")
        end = start + timedelta(days=config.days)
        app.state.web.clock = lambda: datetime.combine(end, time(9), city.policy.calendar.zone).astimezone(UTC)
        rows = await stack.store.pool.fetch("SELECT case_id, territorial_unit FROM cases WHERE status = 'submitted'")
        waiting: dict[str, set[str]] = {}
        for r in rows:
            waiting.setdefault(r["territorial_unit"], set()).add(r["case_id"])
        yield Site(app, waiting)


async def signed_in(app: Any, name: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inspect.test")
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await http.get("/signin")).text)
    assert token is not None
    answer = await http.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text
    return http


def listed(html: str) -> set[str]:
    return set(re.findall(r'<h2 id="vc-[0-9a-f]{8}"><a class="case-link" href="/cases/([^"]+)"', html))


async def test_an_inspector_sees_only_the_cases_awaiting_verification_in_its_area(site: Site) -> None:
    busiest = [t for t, _ in Counter({t: len(c) for t, c in site.waiting.items()}).most_common()]
    assert len(busiest) >= 3, "the simulation left submitted cases in too few streets"
    area, also, outside = busiest[0], busiest[1], busiest[2]
    accounts = site.app.state.web.accounts
    user, _ = await accounts.create("wang.jc", "office_inspection", "inspector", PASSWORD, [area, also])
    assert user.areas == (area, also)
    await accounts.create("li.jc", "office_inspection", "inspector", PASSWORD)
    mine = await signed_in(site.app, "wang.jc")
    page = (await mine.get("/verify")).text
    assert listed(page) == site.waiting[area] | site.waiting[also]
    assert "本人核查区域" in page and f'href="/verify?area={outside}"' not in page
    assert listed((await mine.get(f"/verify?area={also}")).text) == site.waiting[also]
    refused = (await mine.get(f"/verify?area={outside}")).text
    assert "不在您的核查区域" in refused and listed(refused) == site.waiting[area] | site.waiting[also]
    everyone = await signed_in(site.app, "li.jc")
    assert listed((await everyone.get("/verify")).text) == set().union(*site.waiting.values())
    assert listed((await everyone.get(f"/verify?area={outside}")).text) == site.waiting[outside]


async def test_only_an_inspector_has_an_area_and_only_of_streets_and_towns(site: Site) -> None:
    accounts = site.app.state.web.accounts
    with pytest.raises(AccountError, match="only an inspector account has an area"):
        await accounts.create("zhao.dp", "office_command", "dispatcher", PASSWORD, ["st_guanyinqiao"])
    with pytest.raises(AccountError, match="'dept_urban': not a street or town"):
        await accounts.create("sun.jc", "office_inspection", "inspector", PASSWORD, ["dept_urban"])
    assert await accounts.store.get("sun.jc") is None
    await accounts.create("zhou.jc", "office_inspection", "inspector", PASSWORD, ["st_guanyinqiao"])
    moved = await accounts.set_areas("zhou.jc", ["st_guanyinqiao", "st_wulidian", "st_guanyinqiao"])
    assert moved.areas == ("st_guanyinqiao", "st_wulidian")
    assert (await accounts.set_areas("zhou.jc", [])).areas == ()
