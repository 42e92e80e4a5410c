"""A valid report is never refused for an internal reason: reports land on a spot whose case is still opening.

Reproduced before: a worker died after it stored a report but before its workflow task completed. The read
model already showed the case, so the next reports at that spot were duplicates of it; their attach reached
the workflow in the same task as its start, before the report was folded, and was refused with
`400 attach_duplicate needs an existing case`. Those reports were recorded nowhere.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType

from rectify.api.app import create_app
from rectify.api.keys import KeyStore
from rectify.audit.verify import verify
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Role
from rectify.worker import build_worker, running
from rectify.workflows.models import workflow_id_for
from tests.support.faults import HeldReplies, polling
from tests.support.scenario import point_in

REPORTS = 30
DOOMED = "doomed-worker"


def worker_process(stack: TestStack, database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **stack.worker_environment(),
        "RECTIFY_DATABASE_URL": database_url,
        "RECTIFY_WORKER_IDENTITY": DOOMED,
    }
    return subprocess.Popen([sys.executable, "-m", "rectify.worker"], env=env, stderr=subprocess.DEVNULL)


async def test_reports_at_a_spot_whose_case_is_still_opening_when_its_worker_dies_are_each_recorded_once(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        app = create_app(stack.client, evidence_dir=tmp_path / "evidence", rate=1000, burst=1000)
        secret, key = await KeyStore(stack.store.pool).create("app_wechat", Role.REPORTER, "race")
        spot = point_in(stack.city, "st_guanyinqiao", index=2)
        form = {
            "api_key": secret,
            "service_code": "street_vending",
            "lat": str(spot.lat),
            "long": str(spot.lon),
            "description": "流动摊贩占道经营",
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rectify.test", timeout=180) as http:

            async def post(i: int) -> httpx.Response:
                headers = {"Idempotency-Key": f"race-{i}"}
                return await http.post("/open311/v2/requests.json", data=form, headers=headers)

            await stack.worker.shutdown()  # from here on only the worker process below serves the queue
            async with HeldReplies(stack.pg.host, stack.pg.port) as relay:
                doomed = worker_process(stack, relay.url(stack.database_url))
                try:
                    await polling(stack.env.client, stack.task_queue, {DOOMED}, timeout=60)  # started and idle
                    # The worker hears nothing more from PostgreSQL: the report's append commits, but its local
                    # activity never learns so, and its workflow task cannot complete.
                    relay.hold()
                    first = asyncio.create_task(post(0))
                    give_up = time.monotonic() + 30
                    while not await stack.store.pool.fetchval("SELECT count(*) FROM cases"):
                        assert time.monotonic() < give_up, "the first report never reached the store"
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(1)
                    assert not first.done(), "the stored report's workflow task completed: the race was not staged"
                    doomed.send_signal(signal.SIGKILL)  # the case is in the read model; its workflow task is lost
                    doomed.wait(10)
                    others = [asyncio.create_task(post(i)) for i in range(1, REPORTS)]
                    await asyncio.sleep(1)  # they find the case and wait on its workflow
                finally:
                    if doomed.poll() is None:
                        doomed.kill()
                        doomed.wait(10)
            async with running(build_worker(stack.env.client, stack.store, stack.task_queue)):
                answers = await asyncio.wait_for(asyncio.gather(first, *others), timeout=180)
        refused = [(i, a.status_code, a.text[:200]) for i, a in enumerate(answers) if a.status_code != 200]
        assert not refused, refused
        keys = Counter()
        for case_id in await stack.store.case_ids():
            for event in await stack.store.load(case_id):
                if event.type in {"case_reported", "duplicate_attached"}:
                    keys[event.idempotency_key] += 1
        assert keys == Counter({f"open311/{key.key_id}/race-{i}": 1 for i in range(REPORTS)})
        opening = answers[0].json()[0]["service_request_id"]
        history = await stack.env.client.get_workflow_handle(workflow_id_for(opening)).fetch_history()
        lost_task = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]
        assert lost_task, "the first case's workflow task should have died with its worker: the race was not staged"
        assert (await verify(stack.store)).ok
