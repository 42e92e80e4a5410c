"""The live hub's fan-out without a database: a page that cannot keep up is told to reload, and closing the hub
ends every subscription."""

from __future__ import annotations

from typing import Any

import pytest

from rectify.store.projections import CaseRow
from rectify.web.live import Change, LiveHub


async def test_a_page_too_slow_to_keep_up_is_told_to_reload_once() -> None:
    hub = LiveHub(pool=Any, database_url=None, queue_size=2)  # type: ignore[arg-type]
    hub._started = True  # no listener: changes are handed out by hand
    slow, quick = await hub.subscribe(), await hub.subscribe()
    for position in (1, 2, 3):
        hub.broadcast(Change(position, []))
        if position < 3:
            assert await quick.get(1) == Change(position, [])
    assert await quick.get(1) == Change(3, [])
    assert await slow.get(1) == Change(3, None)  # what it missed is dropped: reload
    assert slow.behind and not quick.behind
    with pytest.raises(TimeoutError):
        await slow.get(0.05)


async def test_closing_the_hub_ends_every_subscription_and_refuses_new_ones() -> None:
    hub = LiveHub(pool=Any, database_url=None)  # type: ignore[arg-type]
    hub._started = True
    open_ = await hub.subscribe()
    await hub.close()
    assert await open_.get(1) is None
    late = await hub.subscribe()
    assert await late.get(1) is None
    assert hub.subscribers == 0


async def test_changes_waiting_for_a_page_go_out_as_one_with_each_cases_newest_row() -> None:
    def row(case_id: str, version: int) -> CaseRow:
        return CaseRow.model_construct(case_id=case_id, version=version)

    hub = LiveHub(pool=Any, database_url=None)  # type: ignore[arg-type]
    hub._started = True
    page = await hub.subscribe()
    hub.broadcast(Change(1, [row("a", 1)]))
    hub.broadcast(Change(2, [row("b", 1), row("a", 2)]))
    hub.broadcast(Change(3, [row("a", 3)]))
    first = await page.get(1)
    assert first is not None
    merged = page.merged(first)
    assert merged is not None and merged.position == 3
    assert [(r.case_id, r.version) for r in merged.rows or ()] == [("a", 3), ("b", 1)]
    hub.broadcast(Change(4, [row("c", 1)]))
    hub.broadcast(Change(5, None))  # too many to read one by one: the merge says reload
    again = await page.get(1)
    assert again is not None and page.merged(again) == Change(5, None)
