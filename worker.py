"""The worker process: runs CaseWorkflow and its activities. Scale out by starting more on the same queue."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from rectify.activities.appends import AppendActivities
from rectify.activities.audits import AuditActivities
from rectify.activities.bulletins import BulletinActivities
from rectify.activities.checkpoints import CheckpointActivities
from rectify.activities.rounds import OpenCase, RoundActivities
from rectify.audit.verify import scheduled_verify
from rectify.channels.config import ChannelBook, ChannelConfigError, channel_book
from rectify.channels.relay import options_for, relay_running
from rectify.city import City
from rectify.config import Settings
from rectify.domain.policy import Policy
from rectify.store import EventStore, migrate
from rectify.telemetry import flush_traces, relay_observer, tracing_interceptors, worker_runtime
from rectify.workflows.registry import WORKFLOWS

log = structlog.get_logger("rectify.worker")

#: How long a stopping worker lets running activities finish before it cancels them (Temporal runs them again).
GRACEFUL_SHUTDOWN = timedelta(seconds=5)
#: The longest a stop waits for the worker. A workflow task still running then (a local append waiting on the
#: database, say) is abandoned: it times out on the server and runs again on the next worker.
SHUTDOWN_BOUND = 10.0


def build_worker(
    client: Client,
    store: EventStore,
    task_queue: str,
    *,
    policy: Policy | None = None,
    bulletin_dir: Path | None = None,
    identity: str | None = None,
    max_cached_workflows: int = 1000,
    city: City | None = None,
    open_case: OpenCase | None = None,
) -> Worker:
    """The worker for every workflow; bulletins are issued only where a policy and a folder are given.

    `identity` names it in the histories (default: the client's pid@host); `max_cached_workflows=0` turns off
    sticky queues, so each workflow task goes to any worker on the queue."""
    appends, checkpoints = AppendActivities(store), CheckpointActivities(store)
    activities = [
        appends.append_events,
        appends.append_proceeding_events,
        checkpoints.record_checkpoint,
        AuditActivities(store, scheduled_verify).verify_and_record,
    ]
    if policy is not None and bulletin_dir is not None:
        points = tuple(city.points.values()) if city is not None else ()
        activities.append(BulletinActivities(store, policy, bulletin_dir, points).issue_bulletin)
    if city is not None:  # rounds: their points from the city data, failed items' cases through `open_case`
        rounds = RoundActivities(store, city.policy, city.points, open_case)
        activities += [rounds.append_round_events, rounds.record_inspection, rounds.open_failure_cases]
        activities.append(rounds.plan_rounds)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities,
        identity=identity,
        max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


@contextlib.asynccontextmanager
async def running(worker: Worker, bound: float = SHUTDOWN_BOUND) -> AsyncIterator[Worker]:
    """`async with worker`, except that stopping takes at most `bound` seconds.

    As with `async with worker`, a worker that fails while the block runs cancels the block and its error
    is raised.
    """
    owner = asyncio.current_task()
    stopping = False

    def failed(task: asyncio.Task) -> None:
        if not stopping and not task.cancelled() and task.exception() is not None and owner is not None:
            owner.cancel()

    task = asyncio.create_task(worker.run())
    task.add_done_callback(failed)
    try:
        yield worker
    finally:
        stopping = True
        if not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(worker.shutdown()), bound)
            except TimeoutError:
                log.warning("worker.shutdown_timed_out", seconds=bound)
                task.cancel()
        if task.done() and not task.cancelled() and (error := task.exception()) is not None:
            raise error


async def run_worker(settings: Settings, stop: asyncio.Event, env: Mapping[str, str] | None = None) -> None:
    """Connect to the configured servers, make sure the schema and attributes exist, and work until `stop`.

    `env` resolves the channels file's `env:NAME` secrets (the process environment, passed by `main`)."""
    from rectify.city import DEFAULT_CITY_DIR, load_city
    from rectify.client import RectifyClient, ServerUnavailable, connect_temporal, register_search_attributes
    from rectify.workflows.schedules import (
        ensure_bulletin_schedule,
        ensure_checkpoint_schedule,
        ensure_full_verify_schedule,
        ensure_round_schedules,
    )

    city = load_city(settings.city_dir or DEFAULT_CITY_DIR)
    book = channel_book(settings, set(city.policy.units), env or {})

    settings = settings.with_running_stack()
    runtime = worker_runtime(settings)
    client = await connect_temporal(
        settings, runtime=runtime, interceptors=tracing_interceptors(settings, "rectify-worker")
    )
    if not settings.database_url:
        raise ServerUnavailable("no database: set RECTIFY_DATABASE_URL or start `rectify up`")
    store = await EventStore.connect(settings.database_url)
    try:
        await migrate(store.pool)
        await register_search_attributes(client)
        await ensure_checkpoint_schedule(client, settings.task_queue, settings.checkpoint_every)
        await ensure_full_verify_schedule(client, settings.task_queue, city.policy.timezone)
        await ensure_bulletin_schedule(client, settings.task_queue, city.policy.timezone)
        await ensure_round_schedules(client, settings.task_queue, city.policy.timezone)
        sdk = RectifyClient(client, store, city, settings.task_queue)  # failed items' cases: the same intake
        worker = build_worker(
            client,
            store,
            settings.task_queue,
            policy=city.policy,
            bulletin_dir=settings.data_dir / "bulletins",
            identity=settings.worker_identity,
            max_cached_workflows=settings.workflow_cache,
            city=city,
            open_case=sdk.open_failure_case,
        )
        log.info(
            "worker.started",
            task_queue=settings.task_queue,
            temporal=settings.temporal_address,
            metrics=settings.worker_metrics,
            tracing=settings.otlp_endpoint,
        )
        observe = relay_observer(runtime)
        async with running(worker), relaying(settings, store, book, city.policy, observe):
            await stop.wait()
        log.info("worker.stopped")
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def relaying(
    settings: Settings, store: EventStore, book: ChannelBook, policy: Policy, observe: Any = None
) -> AsyncIterator[None]:
    """The notice relay beside the worker (unless RECTIFY_NOTICE_RELAY=0): every worker runs one, and the
    leases in the store keep them from sending the same delivery twice."""
    if not settings.notice_relay:
        yield
        return
    name = settings.worker_identity or f"{os.getpid()}@{socket.gethostname()}"
    options = options_for(book, settings.case_link_base)
    async with relay_running(
        store.pool, book, policy, options, worker=name, database_url=settings.database_url, observe=observe
    ):
        yield


def main() -> None:
    """`python -m rectify.worker`: configuration from the environment; leaves through os._exit (sdk-python#300)."""
    from rectify import logs
    from rectify.city import CityDataError
    from rectify.client import ServerUnavailable

    logs.configure()
    logs.route_temporal_core()
    status = 0
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(run_worker(Settings.from_env(os.environ), stop, os.environ))
    except ServerUnavailable as error:
        print(f"rectify worker: {error}", file=sys.stderr)
        status = 3
    except (ChannelConfigError, CityDataError, ValueError) as error:
        print(f"rectify worker: {error}", file=sys.stderr)
        status = 2
    except Exception as error:  # the last line of defence: one line, not a traceback
        print(f"rectify worker failed: {type(error).__name__}: {error}", file=sys.stderr)
        status = 1
    flush_traces()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
