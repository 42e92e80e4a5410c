"""Announcements of appended events, as they commit: one LISTEN connection on the channel that migration 0014's
trigger notifies, with the highest position each append wrote.

The connection is its own, not the pool's (a store built on a bare pool lends one of the pool's for as long
as the feed runs). When it is lost (the database
restarted, the network dropped), the feed connects again and announces the head position at once, so a
listener that reads up to each announced position misses nothing appended meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog

log = structlog.get_logger("rectify.store")
CHANNEL = "rectify_events"
#: How the listening connection names itself in pg_stat_activity.
APPLICATION_NAME = "rectify-live"
#: How often a quiet connection is asked whether it is still there.
PROBE_SECONDS = 30.0


class EventFeed:
    """Calls `announce(position)` for every committed append (and once on each connect, with the head)."""

    def __init__(
        self, target: str | asyncpg.Pool, announce: Callable[[int], None], *, retry_seconds: float = 2.0
    ) -> None:
        self.target, self.announce, self.retry_seconds = target, announce, retry_seconds
        #: Set while the LISTEN is in place (tests wait on it).
        self.listening = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled, connecting again whenever the connection is lost."""
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                log.warning("store.feed_lost", error=str(error)[:200])
            self.listening.clear()
            await asyncio.sleep(self.retry_seconds)

    async def _listen_once(self) -> None:
        pool = self.target if isinstance(self.target, asyncpg.Pool) else None
        conn = await (
            pool.acquire(timeout=10)
            if pool
            else asyncpg.connect(str(self.target), timeout=10, server_settings={"application_name": APPLICATION_NAME})
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._on_notify)
            self.announce(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))
            self.listening.set()
            log.info("store.feed_listening", channel=CHANNEL)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PROBE_SECONDS)
                    break
                await conn.fetchval("SELECT 1", timeout=10)
            raise OSError("the listening connection was closed")
        finally:
            with contextlib.suppress(Exception):
                await conn.remove_listener(CHANNEL, self._on_notify)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.release(conn) if pool else conn.close(), 5)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            position = int(payload)
        except ValueError:  # not ours: someone else notified on the channel
            log.warning("store.feed_payload", payload=payload[:40])
            return
        self.announce(position)
