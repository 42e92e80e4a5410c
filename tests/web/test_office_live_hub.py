"""The live hub's fan-out without a database: a page that cannot keep up is told to reload, and closing the hub
ends every subscription."""

from __future__ import annotations

from typing import Any

import pytest

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
