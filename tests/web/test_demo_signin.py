"""The demo's staff accounts: one per role at the city's offices and one per busiest unit, each of which signs in
through the pages' own sign-in form and sees its home page; made again, they get new passwords."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from rectify.api.app import create_app
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from rectify.web.demo_accounts import create_demo_accounts
from tests.support.scenario import REPORTER, point_in

#: (category, street): three cases at 观音桥, two at 华新街, one at 五里店 (their own territories lead).
REPORTS = (
    [("litter_junk", "st_guanyinqiao")] * 3 + [("litter_junk", "st_huaxinjie")] * 2 + [("litter_junk", "st_wulidian")]
)


async def sign_in(http: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    form = await http.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return await http.post("/signin", data={"csrf_token": token, "name": name, "password": password, "next": "/"})


async def test_the_demo_accounts_sign_in_at_the_pages(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    async with TestStack(pg=pg) as stack:
        for i, (category, street) in enumerate(REPORTS):
            await stack.client.report(
                idempotency_key=f"demo-accounts-{i}",
                category=category,
                description="垃圾堆放",
                location=point_in(stack.city, street, index=i),
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
        accounts = await create_demo_accounts(stack.store.pool, stack.city.policy)
        assert [(a.name, a.role, a.unit_id) for a in accounts] == [
            ("dispatcher", "dispatcher", "office_chuangwen"),
            ("inspector", "inspector", "office_inspection"),
            ("leader", "leader", "office_chuangwen"),
            ("auditor", "auditor", "office_inspection"),
            ("st_guanyinqiao", "unit", "st_guanyinqiao"),  # the units with the most open cases, most first
            ("st_huaxinjie", "unit", "st_huaxinjie"),
            ("st_wulidian", "unit", "st_wulidian"),
        ]
        assert len({a.password for a in accounts}) == len(accounts) and all(len(a.password) == 16 for a in accounts)
        app = create_app(stack.client, evidence_dir=tmp_path / "evidence")
        for account in accounts:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://rectify.test") as http:
                signed_in = await sign_in(http, account.name, account.password)
                assert (signed_in.status_code, signed_in.headers.get("location")) == (303, "/"), signed_in.text
                home = await http.get("/")
                assert home.status_code == 200 and account.unit_name in home.text, account.name
        guanyinqiao = next(a for a in accounts if a.name == "st_guanyinqiao")

        again = {a.name: a.password for a in await create_demo_accounts(stack.store.pool, stack.city.policy)}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rectify.test") as http:
            refused = await sign_in(http, "st_guanyinqiao", guanyinqiao.password)  # made again: a new password
            assert refused.status_code == 400 and "账号或密码不正确" in refused.text
            assert (await sign_in(http, "st_guanyinqiao", again["st_guanyinqiao"])).status_code == 303
