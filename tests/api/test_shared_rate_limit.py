"""The API's rate limit holds across replicas: two apps over one database spend from one bucket per caller,
and twenty requests at once never get more than the burst through."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from rectify.api.app import create_app
from rectify.devstack import EmbeddedPostgres
from rectify.store import rate_limits
from tests.support.api import api_stack


async def test_two_replicas_together_allow_one_callers_burst_and_no_more(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    # A token every 1,000 s: however slow the machine, nothing refills while the test runs.
    async with api_stack(pg, tmp_path, rate=0.001, burst=3) as one:
        other_app = create_app(one.stack.client, evidence_dir=tmp_path / "evidence", rate=0.001, burst=3)
        transport = httpx.ASGITransport(app=other_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica-2.test") as two:
            lead = one.auth("lead")
            answers = []
            for replica in (one.http, two, one.http, two, one.http, two):
                answers.append((await replica.get("/v1/cases", headers=lead)).status_code)
            assert answers == [200, 200, 200, 429, 429, 429]  # three in all, not three each
            assert (await two.get("/v1/cases", headers=one.auth("auditor"))).status_code == 200  # per caller
            limited = await two.get("/v1/cases", headers=lead)
            assert limited.status_code == 429 and 900 < int(limited.headers["retry-after"]) <= 1000


async def test_a_burst_of_concurrent_requests_spends_each_token_once(fresh_database_url: str) -> None:
    from rectify.store import EventStore, migrate

    store = await EventStore.connect(fresh_database_url, max_size=10)
    try:
        await migrate(store.pool)
        waits = await asyncio.gather(*(rate_limits.take(store.pool, "key:k1", 0.001, 5) for _ in range(20)))
        assert sum(1 for w in waits if w == 0) == 5
        assert all(w > 100 for w in waits if w)  # a token a thousand seconds: long waits, each honest
        assert await rate_limits.take(store.pool, "key:k2", 0.001, 5) == 0  # another caller, its own bucket
        assert await rate_limits.prune(store.pool, idle_s=3600) == 0  # both buckets were used just now
    finally:
        await store.close()
