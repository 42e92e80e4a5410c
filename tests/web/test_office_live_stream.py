"""The office's event stream over HTTP against a real stack: an append reaches an open stream as its markers and
a `changed` event, a reconnecting page catches up from its Last-Event-ID, and stopping the server ends every open
stream and the listening connection first, so no stream holds up the shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rectify.api.app import create_app
from rectify.api.serve import serving_app
from rectify.city.sampling import point_in
from rectify.devstack import EmbeddedPostgres, TestStack, free_port
from rectify.domain.types import Actor, Channel, Role
from rectify.store import office_queue as q
from rectify.store.event_feed import APPLICATION_NAME
from rectify.store.projections import CaseRow
from rectify.store.staff import StaffUser
from rectify.web import map_data
from rectify.web.command import change_messages
from rectify.web.live import Change

PASSWORD = "correct-horse-2026"


async def signed_in(url: str, name: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url, timeout=30)
    form = (await http.get("/signin")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = await http.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text
    return http


async def events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict, str]]:
    """(event, data, id) for each message of an event stream."""
    name, data, ident = "message", "", ""
    async for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line.startswith("id: "):
            ident = line[4:]
        elif line == "" and data:
            yield name, json.loads(data), ident
            name, data, ident = "message", "", ""


async def listeners(stack: TestStack) -> int:
    return await stack.store.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", APPLICATION_NAME
    )


async def test_an_append_reaches_open_streams_and_stopping_ends_them(
    pg: EmbeddedPostgres, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with TestStack(pg=pg) as stack, contextlib.AsyncExitStack() as browser, contextlib.AsyncExitStack() as server:
        app = create_app(stack.client, evidence_dir=tmp_path / "evidence")
        await app.state.web.accounts.create("zhang.wei", "office_command", "dispatcher", PASSWORD)
        zero = map_data.origin(stack.city.router.bounds)
        url = await server.enter_async_context(serving_app(app, "127.0.0.1", free_port()))
        http = await signed_in(url, "zhang.wei")
        browser.push_async_callback(http.aclose)
        stream = await browser.enter_async_context(http.stream("GET", "/command/stream"))
        lines = stream.aiter_lines()
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        before = await q.head_position(stack.store.pool)
        await app.state.live.feed.listening.wait()
        assert await listeners(stack) == 1  # one listening connection for the process
        ref = await stack.client.report(
            idempotency_key="live/1",
            category="street_vending",
            description="早市摊点占道经营",
            channel=Channel.SNAPSHOT,
            actor=Actor(unit_id="app_wechat", role=Role.REPORTER),
            location=point_in(stack.city, "st_guanyinqiao", index=3),
        )
        received = {}
        async with asyncio.timeout(60):
            async for name, data, ident in events(lines):
                received[name] = (data, ident)
                if {"markers", "changed"} <= received.keys():
                    break
        markers, position = received["markers"]
        row = await stack.store.get_case(ref.case_id)
        assert row is not None and row.status == "dispatched"
        assert markers == {"put": [map_data.marker(row, zero)], "gone": []}
        assert received["changed"][0] == {"cases": 1}
        assert int(position) == await q.head_position(stack.store.pool)

        # a page that saw the events up to `before` and reconnects is told what it missed at once
        last_seen = {"last-event-id": str(before)}
        async with asyncio.timeout(60), http.stream("GET", "/command/stream", headers=last_seen) as again:
            async for name, data, _ in events(again.aiter_lines()):
                assert (name, data) == ("markers", markers)
                break

        # the server stops while a page's stream is still open: the stream ends, and so does the listener
        async with asyncio.timeout(60):
            await server.aclose()
            assert [line async for line in lines if line.startswith("event:")] == []
        assert await listeners(stack) == 0
        assert app.state.live.subscribers == 0
    assert not [r for r in caplog.records if "timeout graceful shutdown exceeded" in r.getMessage()]


def test_a_unit_is_told_only_of_its_own_cases() -> None:
    def row(unit: str, status: str) -> CaseRow:
        return CaseRow.model_construct(
            case_id=f"{unit}-0000-case", lead_unit=unit, lon=106.5, lat=29.6, status=status, escalation_level=0
        )

    unit = StaffUser.model_construct(name="li.na", unit_id="st_a", role="unit")
    office = StaffUser.model_construct(name="zhang.wei", unit_id="office_command", role="dispatcher")
    change = Change(9, [row("st_b", "dispatched")])
    assert change_messages(change, unit, (106.48, 29.55)) == []
    assert len(change_messages(change, office, (106.48, 29.55))) == 2
    closed = change_messages(Change(10, [row("st_a", "closed")]), unit, (106.48, 29.55))
    assert json.loads(closed[0].split("data: ")[1]) == {"put": [], "gone": ["st_a-000"]}
    assert change_messages(Change(11, None), unit, (106.48, 29.55)) == ["id: 11\nevent: reload\ndata: {}\n\n"]
