"""Notice delivery: the relay's throughput to a local webhook receiver against a bare httpx loop posting the
same signed bodies to the same receiver, one after another, in the same run; and the delay from an append
to the notice's delivery, p50 and p99.

The receiver is a minimal HTTP/1.1 server in a process of its own (so neither side shares its event loop
with it), answering 200 to every POST. Each unit has a webhook channel to it. The relay is held to one send
at a time (`concurrency=1`), like the bare loop, so the ratio is what fan-out, leases, circuits, words,
signatures and the record of every try cost per notice; a second row lets it send channels side by side, as
it does in production. The bare loop runs before and after the relay, and the faster run is the baseline
(the machine may be shared).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bench.results import Target, row
from bench.store import sample_cases
from rectify.channels.config import ChannelBook, WebhookChannel
from rectify.channels.posting import json_body
from rectify.channels.relay import NoticeRelay, RelayOptions, relay_running
from rectify.channels.send import Sender
from rectify.channels.text import compose
from rectify.channels.webhook import signed_headers
from rectify.domain.notifications import NoticeFacts
from rectify.store import EventStore, migrate
from rectify.store.notices import NoticeStore

SECRET = "bench-webhook-secret-0123456789"
BASE_URL = "https://rectify.example.invalid"


def _serve(port: Any, ready: Any) -> None:
    """The receiver process: keep-alive HTTP/1.1, 200 to every request."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


@asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    context = multiprocessing.get_context("spawn")
    port, ready = context.Value("i", 0), context.Event()
    process = context.Process(target=_serve, args=(port, ready), daemon=True)
    process.start()
    try:
        if not await asyncio.to_thread(ready.wait, 30):
            raise RuntimeError("the bench receiver did not start")
        yield f"http://127.0.0.1:{port.value}/hook"
    finally:
        process.terminate()
        process.join(10)


def _book(city: Any, url: str) -> ChannelBook:
    """One webhook channel per unit of the city, all to the one receiver (every notice has one channel)."""
    channels = [
        WebhookChannel(id=f"hook-{i}", unit=unit, url=url, secret=SECRET) for i, unit in enumerate(city.policy.units)
    ]
    return ChannelBook(channels=tuple(channels))


async def _filed(url: str, city: Any, n: int, tag: str) -> EventStore:
    store = await EventStore.connect(url, max_size=10)
    await migrate(store.pool)
    for case_id, events, state in sample_cases(city, n, tag):
        await store.append(case_id, 0, events, state)
    return store


async def _relay_rate(store: EventStore, city: Any, hook: str, n: int, concurrency: int) -> float:
    """Notices already in the outbox: fan-out, lease, send and record, round after round, until all are sent."""
    options = RelayOptions(base_url=BASE_URL, concurrency=concurrency)
    async with httpx.AsyncClient() as http:
        relay = NoticeRelay(NoticeStore(store.pool), _book(city, hook), Sender(http), city.policy, options, worker="b")
        started = time.perf_counter()
        while True:
            report = await relay.round()
            if not report.busy and report.due_in is None and not report.considered:
                break
        elapsed = time.perf_counter() - started
    delivered = await store.pool.fetchval("SELECT count(*) FROM notice_deliveries WHERE state = 'delivered'")
    assert delivered == n, f"{delivered} of {n} notices delivered"
    return n / elapsed


async def _bare(store: EventStore, city: Any, hook: str) -> tuple[float, list[float]]:
    """The same bodies, signed the same way, posted one after another: notices a second, and each POST's ms."""
    rows = await store.pool.fetch("SELECT facts FROM outbox WHERE facts IS NOT NULL ORDER BY created_at")
    texts = [compose(NoticeFacts.model_validate(r["facts"]), city.policy, BASE_URL) for r in rows]
    bodies = [(t.notice_id, json_body(t.payload)) for t in texts]
    took: list[float] = []
    async with httpx.AsyncClient() as http:
        started = time.perf_counter()
        for notice_id, body in bodies:
            at = time.perf_counter()
            headers = signed_headers(SECRET, notice_id, int(time.time()), body)
            response = await http.post(hook, content=body, headers=headers | {"Content-Type": "application/json"})
            response.raise_for_status()
            took.append((time.perf_counter() - at) * 1000)
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, took


async def _delays(url: str, database_url: str, city: Any, hook: str, n: int, rate: float) -> list[float]:
    """Cases appended at `rate` a second with a relay running (woken by the outbox): append → delivery, in ms."""
    store = await EventStore.connect(url, max_size=10)
    try:
        await migrate(store.pool)
        options = RelayOptions(base_url=BASE_URL)
        async with relay_running(
            store.pool, _book(city, hook), city.policy, options, worker="b", database_url=database_url
        ):
            for case_id, events, state in sample_cases(city, n, f"lat-{uuid.uuid4().hex[:6]}"):
                await store.append(case_id, 0, events, state)
                await asyncio.sleep(1 / rate)
            for _ in range(600):
                left = await store.pool.fetchval("SELECT count(*) FROM notice_deliveries WHERE state <> 'delivered'")
                made = await store.pool.fetchval("SELECT count(*) FROM notice_deliveries")
                if made == n and not left:
                    break
                await asyncio.sleep(0.1)
        rows = await store.pool.fetch(
            "SELECT extract(epoch FROM d.delivered_at - o.created_at) * 1000 AS ms "
            "FROM notice_deliveries d JOIN outbox o USING (notification_id) WHERE d.state = 'delivered'"
        )
    finally:
        await store.close()
    assert len(rows) == n, f"{len(rows)} of {n} notices delivered"
    return sorted(float(r["ms"]) for r in rows)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(pg: Any, city: Any, n: int = 1000, paced: int = 200) -> list[dict]:
    async with receiver() as hook:
        tag = uuid.uuid4().hex[:6]
        store = await _filed(await pg.create_database(f"bench_notify_{tag}"), city, n, tag)
        other = await _filed(await pg.create_database(f"bench_notify_{tag}_2"), city, n, tag)
        try:
            sequential = await _relay_rate(store, city, hook, n, concurrency=1)
            bare_rate, post_ms = await _bare(store, city, hook)
            side_by_side = await _relay_rate(other, city, hook, n, concurrency=16)
            bare_again, post_again = await _bare(store, city, hook)
            if bare_again > bare_rate:
                bare_rate, post_ms = bare_again, post_again
        finally:
            await store.close()
            await other.close()
        latency_url = await pg.create_database(f"bench_notify_lat_{uuid.uuid4().hex[:6]}")
        delays = await _delays(latency_url, latency_url, city, hook, paced, rate=20)
    p50, p99 = statistics.median(delays), _pct(delays, 99)
    b50, b99 = statistics.median(post_ms), _pct(post_ms, 99)
    size = {"size": n, "size_unit": "notices", "size_text": f"{n:,} notices"}
    paced_size = {"size": paced, "size_unit": "notices", "size_text": f"{paced} notices at 20/s"}
    return [
        row(
            "notify.sequential",
            "notify",
            "notice delivery to a webhook, one send at a time",
            unit="notices/s",
            better="higher",
            value=sequential,
            baseline_name="bare httpx loop, same bodies",
            baseline=bare_rate,
            target=Target(">=", 0.5, "≥ 0.5×"),
            **size,
        ),
        row(
            "notify.side_by_side",
            "notify",
            "notice delivery, channels side by side",
            unit="notices/s",
            better="higher",
            value=side_by_side,
            baseline_name="bare httpx loop, same bodies",
            baseline=bare_rate,
            **size,
        ),
        row(
            "notify.delay_p50",
            "notify",
            "notice delay, append to delivered, p50",
            unit="ms",
            better="lower",
            value=p50,
            baseline_name="one bare POST p50",
            baseline=b50,
            **paced_size,
        ),
        row(
            "notify.delay_p99",
            "notify",
            "notice delay, append to delivered, p99",
            unit="ms",
            better="lower",
            value=p99,
            baseline_name="one bare POST p99",
            baseline=b99,
            **paced_size,
        ),
    ]
