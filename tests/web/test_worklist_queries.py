"""The unit's workbench (/workbench) and the inspector's page (/verify) load what they show in a fixed number of
queries: as many for 20 cases as for 1 (no query per case). Every statement a request sends is counted where
asyncpg sends it (the connection's query methods, which the pool's calls go through), for that request only; the
pool's reset of a connection it takes back is not counted."""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from rectify.api.app import create_app
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain import commands as c
from rectify.domain.decider import case_id_for, decide
from rectify.domain.state import fold
from rectify.domain.types import Actor, Channel, EvidenceRef, Point, Role, Routing

PASSWORD = "worklist-queries-2026"
ONE, TWENTY = "st_guanyinqiao", "st_huaxinjie"
#: A fixed moment (a Tuesday morning in the city), so the pages do not depend on today's date.
AT = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
_counter: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("queries", default=None)
_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany")


def _counting(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def run(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        seen = _counter.get()
        if seen is not None and query != self.get_reset_query():  # the pool's own reset on release is not the page's
            seen.append(" ".join(str(query).split())[:100])
        return await method(self, query, *args, **kwargs)

    return run


@pytest.fixture(scope="module")
async def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """1 case awaiting verification in 观音桥, 20 in 华新街 (each led by its street), and the accounts to see them."""
    async with TestStack(pg=pg) as stack:
        policy = stack.city.policy
        for territory, n in ((ONE, 1), (TWENTY, 20)):
            for i in range(n):
                events = _submitted(policy, f"queries-{territory}-{i}", territory, AT + timedelta(minutes=i))
                await stack.store.append(events[0].case_id, 0, events, fold(events))
        app = create_app(stack.client, evidence_dir=tmp_path_factory.mktemp("queries") / "evidence")
        app.state.web.clock = lambda: AT + timedelta(hours=3)
        accounts = app.state.web.accounts
        for territory in (ONE, TWENTY):
            await accounts.create(f"unit.{territory}", territory, "unit", PASSWORD)
            await accounts.create(f"jc.{territory}", "office_inspection", "inspector", PASSWORD, [territory])
        yield app


def _submitted(policy: Any, key: str, territory: str, at: datetime) -> list[Any]:
    """A 占道经营 case reported, claimed and submitted (with a photo), led by its own street."""
    unit = Actor(unit_id=territory, role=Role.UNIT)
    routing = Routing(lead_unit=territory, territorial_unit=territory, grid_id=f"g-{territory}", rule="territorial")
    photo = EvidenceRef(sha256=f"{len(key):02x}" * 32, size=10, media_type="image/jpeg")
    report = c.ReportCase(
        command_id=f"report-{key}",
        case_id=case_id_for(key),
        actor=Actor(unit_id="citizen", role=Role.REPORTER),
        idempotency_key=key,
        category="street_vending",
        description="人行道上有流动摊贩",
        location=Point(lon=106.57, lat=29.6),
        channel=Channel.SNAPSHOT,
        routing=routing,
        evidence=(photo,),
    )
    events = decide(None, report, at, policy)
    for n, command in enumerate(
        (
            c.ClaimCase(command_id=f"claim-{key}", case_id=report.case_id, actor=unit),
            c.SubmitRectification(
                command_id=f"submit-{key}", case_id=report.case_id, actor=unit, evidence=(photo,), note="已整改"
            ),
        ),
        start=1,
    ):
        events += decide(fold(events), command, at + timedelta(minutes=10 * n), policy)
    return events


async def _signed_in(app: Any, name: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://queries.test")
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await http.get("/signin")).text)
    assert token is not None
    answer = await http.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text
    return http


async def _queries(app: Any, name: str, path: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """The statements one GET of `path` sends, signed in as `name`, and the page."""
    http = await _signed_in(app, name)
    await http.get(path)  # once first: what a process prepares once (types, codecs) is not the page's
    with monkeypatch.context() as patch:
        connection = asyncpg.connection.Connection
        for method in _METHODS:
            patch.setattr(connection, method, _counting(getattr(connection, method)))
        seen: list[str] = []
        token = _counter.set(seen)
        try:
            page = await http.get(path)
        finally:
            _counter.reset(token)
    assert page.status_code == 200, page.text
    return seen, page.text


def _cases(html: str) -> int:
    """How many of the seeded cases the page links to."""
    seeded = {case_id_for(f"queries-{t}-{i}") for t, n in ((ONE, 1), (TWENTY, 20)) for i in range(n)}
    return len(set(re.findall(r'href="/cases/([0-9a-f-]{36})"', html)) & seeded)


@pytest.mark.parametrize(("path", "who"), [("/workbench", "unit"), ("/verify", "jc")])
async def test_a_work_list_costs_the_same_queries_for_twenty_cases_as_for_one(
    site: Any, path: str, who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, page_one = await _queries(site, f"{who}.{ONE}", path, monkeypatch)
    twenty, page_twenty = await _queries(site, f"{who}.{TWENTY}", path, monkeypatch)
    assert (_cases(page_one), _cases(page_twenty)) == (1, 20)  # each page shows its cases
    print(f"{path}: {len(one)} queries for 1 case, {len(twenty)} for 20")
    assert len(twenty) == len(one), "\n".join(twenty)
