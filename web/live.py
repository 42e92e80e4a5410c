"""Live pages: one listening connection per web process (store/event_feed.py), fanned out to every open page.

The hub wakes on each announced position, waits a moment so a burst of appends becomes one change, reads the
case rows those events touched, and hands the same `Change` to every subscriber. A subscriber that falls
behind (its queue is full) gets `RELOAD` instead of the changes it missed, as does everyone after a burst too
large to read case by case. `close` ends every subscription, so no page's stream holds up the server's
shutdown, and stops the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg
import structlog

from rectify.store.event_feed import EventFeed
from rectify.store.office_queue import changed_since
from rectify.store.projections import CaseRow

log = structlog.get_logger("rectify.web")
#: Appends announced within this many seconds of each other reach the pages as one change.
COALESCE_SECONDS = 0.25


@dataclass(frozen=True)
class Change:
    #: The events up to this position are in `rows` (the stream's event id).
    position: int
    #: The rows of the cases those events touched; None when there were too many (reload everything).
    rows: list[CaseRow] | None


class Subscription:
    def __init__(self, hub: LiveHub, size: int) -> None:
        self._hub, self._queue = hub, asyncio.Queue[Change | None](size)
        self.behind = False

    def put(self, change: Change | None) -> None:
        """Queue `change` (None: the end); a page too slow to keep up gets one change meaning "reload"."""
        if self._queue.full():
            self.behind = True
            self._drain_then(None if change is None else Change(change.position, None))
        else:
            self._queue.put_nowait(change)

    def _drain_then(self, last: Change | None) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(last)

    async def get(self, timeout: float) -> Change | None:
        """The next change; raises TimeoutError when none came; None when the hub closed."""
        return await asyncio.wait_for(self._queue.get(), timeout)

    def merged(self, first: Change) -> Change | None:
        """`first` and every change queued behind it as one (the newest row of each case); None if the hub closed."""
        changes = [first]
        while not self._queue.empty():
            change = self._queue.get_nowait()
            if change is None:
                return None
            changes.append(change)
        if any(c.rows is None for c in changes):
            return Change(changes[-1].position, None)
        rows = {r.case_id: r for c in changes for r in c.rows or ()}
        return Change(changes[-1].position, [rows[k] for k in sorted(rows)])

    def close(self) -> None:
        self._hub._subscribers.discard(self)


class LiveHub:
    def __init__(self, pool: asyncpg.Pool, database_url: str | None, *, queue_size: int = 32) -> None:
        self.pool, self.database_url, self.queue_size = pool, database_url, queue_size
        self._subscribers: set[Subscription] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._started = False
        self._closed = False
        #: The highest position announced, and the highest whose changes were handed out (None until the
        #: listener first connects and announces the head: what came before is in the pages already).
        self.announced = 0
        self.sent: int | None = None
        self.feed: EventFeed | None = None

    async def start(self) -> None:
        if self._started or self._closed:
            return
        self._started = True
        self.feed = EventFeed(self.database_url or self.pool, self._announce)
        self._tasks = [
            asyncio.create_task(self.feed.run(), name="rectify-live-feed"),
            asyncio.create_task(self._pump(), name="rectify-live-pump"),
        ]

    def _announce(self, position: int) -> None:
        if self.sent is None:  # the head, as the listener first connects: where the pages start from
            self.sent = self.announced = position
            return
        if position > self.announced:
            self.announced = position
            self._wake.set()

    async def subscribe(self) -> Subscription:
        await self.start()
        subscription = Subscription(self, self.queue_size)
        if self._closed:
            subscription.put(None)
        else:
            self._subscribers.add(subscription)
        return subscription

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()
            upto = self.announced
            if self.sent is None or not self._subscribers:  # nobody to tell: only keep count
                self.sent = upto
                continue
            if upto <= self.sent:
                continue
            try:
                rows = await changed_since(self.pool, self.sent, upto)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("web.live_read_failed", error=str(error)[:200])
                self._wake.set()  # try again after the next pause
                await asyncio.sleep(1)
                continue
            self.sent = upto
            self.broadcast(Change(upto, rows))

    def broadcast(self, change: Change) -> None:
        for subscription in list(self._subscribers):
            subscription.put(change)

    async def catch_up(self, since: int) -> Change | None:
        """What a page that saw the events up to `since` missed (a reconnecting EventSource's Last-Event-ID)."""
        if self.sent is None or since >= self.sent or since < 0:
            return None
        return Change(self.sent, await changed_since(self.pool, since, self.sent))

    async def close(self) -> None:
        """End every page's stream and stop listening (safe to call more than once)."""
        self._closed = True
        for subscription in list(self._subscribers):
            subscription.put(None)
        self._subscribers.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
