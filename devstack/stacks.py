"""Stacks: the servers, a migrated store, an in-process worker and the SDK client, started in order and
stopped together. `TestStack` for tests and the simulation, `EmbeddedStack` for `rectify up` and the demo,
`open_store` for a command that needs the store alone."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from rectify.config import TASK_QUEUE, Settings
from rectify.devstack.servers import (
    EmbeddedPostgres,
    StackError,
    TemporalDevServer,
    stop_together,
    test_server_path,
)

#: The dev server's SQLite database in a data folder (`rectify up`): all the cluster's persistence.
TEMPORAL_DB = "temporal.db"


class _Stack:
    """What every stack shares: start in order, and on any failure stop what was already started."""

    task_queue: str

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        raise NotImplementedError

    async def _serve(self, temporal_client: Any, database_url: str, city: Any, bulletin_dir: Path) -> None:
        """Store (migrated), search attributes, an in-process worker and the SDK client on top of the servers."""
        from rectify.client import RectifyClient, register_search_attributes
        from rectify.store import EventStore, migrate
        from rectify.worker import build_worker, running

        self.store = await EventStore.connect(database_url)
        self._stack.push_async_callback(self.store.close)
        await migrate(self.store.pool)
        await register_search_attributes(temporal_client)
        self.bulletin_dir = bulletin_dir
        self.client = RectifyClient(temporal_client, self.store, city, self.task_queue)
        self.worker = build_worker(
            temporal_client,
            self.store,
            self.task_queue,
            policy=city.policy,
            bulletin_dir=bulletin_dir,
            city=city,
            open_case=self.client.open_failure_case,  # a failed item's case through the SDK's own intake
        )
        await self._stack.enter_async_context(running(self.worker))
        self.relay = None
        if (notices := getattr(self, "notices", None)) is not None:
            from rectify.channels.relay import relay_running

            self.relay = await self._stack.enter_async_context(
                relay_running(
                    self.store.pool,
                    notices.book,
                    city.policy,
                    notices.options,
                    worker=notices.worker,
                    database_url=database_url,
                    smtp_tls=notices.smtp_tls,
                )
            )


@dataclass(frozen=True)
class Notices:
    """A notice relay for a stack: these channels, these options (tests: short retries), a CA for SMTP."""

    book: Any
    options: Any
    smtp_tls: Any = None
    worker: str = "stack"


class TestStack(_Stack):
    """Embedded PostgreSQL + a Temporal server (time-skipping by default) + an in-process worker.

    ```
    async with TestStack() as stack:
        ref = await stack.client.report(...)
        await stack.env.sleep(timedelta(hours=3))   # time-skipping: hours pass in milliseconds
    ```
    Pass `pg=` to reuse one server for many tests; each stack still gets a fresh database. Pass `notices=` to
    run a notice relay to those channels (`stack.relay`); without it notices reach the inboxes only.
    """

    __test__ = False  # not a pytest class

    def __init__(
        self,
        *,
        pg: EmbeddedPostgres | None = None,
        time_skipping: bool = True,
        city_dir: Path | None = None,
        task_queue: str = TASK_QUEUE,
        database_url: str | None = None,
        bulletin_dir: Path | None = None,
        notices: Notices | None = None,
    ) -> None:
        self._pg_given = pg
        self.notices = notices
        #: Where BulletinWorkflow writes (a scratch folder when not given).
        self.bulletin_dir = bulletin_dir
        self.pg = pg
        #: Use this (already created) database and keep it afterwards, instead of a fresh scratch one.
        self.database_url = database_url
        self.time_skipping = time_skipping
        self.city_dir = city_dir
        self.task_queue = task_queue
        super().__init__()

    async def _start(self) -> None:
        import uuid

        from rectify.city import DEFAULT_CITY_DIR, load_city

        self.city = load_city(self.city_dir or DEFAULT_CITY_DIR)
        if self.database_url is not None:
            await self._start_temporal()
            return
        if self.pg is None:
            import tempfile

            # fsync off: a scratch server for one test run, thrown away afterwards.
            self.pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="rectify-stack-")) / "pg", fsync=False).start()
            self._stack.callback(self.pg.stop)
        database = f"stack_{uuid.uuid4().hex[:12]}"
        self.database_url = await self.pg.create_database(database)
        self._stack.push_async_callback(self.pg.drop_database, database)
        await self._start_temporal()

    def worker_environment(self) -> dict[str, str]:
        """The settings for another worker process (`python -m rectify.worker`) on this stack's task queue."""
        assert self.database_url is not None, "the stack is not started"
        return {
            "RECTIFY_TEMPORAL_ADDRESS": self.env.client.service_client.config.target_host,
            "RECTIFY_DATABASE_URL": self.database_url,
            "RECTIFY_TASK_QUEUE": self.task_queue,
        }

    async def _start_temporal(self) -> None:
        from temporalio.testing import WorkflowEnvironment

        from rectify.client import connect_temporal
        from rectify.workflows.converter import data_converter

        if self.time_skipping:
            self.env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(test_server_path()), data_converter=data_converter
            )
        else:
            # Our own start, not WorkflowEnvironment.start_local: the SDK spawns its server with no parent-death
            # signal, so a killed test or bench would leave it running. Started from the loop's (main) thread.
            server = TemporalDevServer(None, headless=True).start()
            self._stack.callback(server.stop)
            client = await connect_temporal(Settings(temporal_address=server.address), patience=30)
            self.env = WorkflowEnvironment.from_client(client)
        self._stack.push_async_callback(self.env.shutdown)
        if self.bulletin_dir is None:
            import tempfile

            self.bulletin_dir = Path(tempfile.mkdtemp(prefix="rectify-bulletins-"))
        assert self.database_url is not None  # (set by _start before this)
        await self._serve(self.env.client, self.database_url, self.city, self.bulletin_dir)


class EmbeddedStack(_Stack):
    """What `rectify up` and `make demo` run: PostgreSQL + the Temporal dev server + a worker, in one folder.

    Writes `stack.json` with the addresses so other `rectify` commands find it, and removes it on exit.
    A second stack on the same folder is refused with a clear message while the first is running.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        city_dir: Path | None = None,
        task_queue: str = TASK_QUEUE,
        checkpoint_every: timedelta = timedelta(hours=1),
        fsync: bool = True,
        notices: Notices | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.notices = notices
        #: On for `rectify up`: an acknowledged event survives a power cut. Only throwaway stacks turn it off.
        self.fsync = fsync
        self.checkpoint_every = checkpoint_every
        self.city_dir = city_dir
        self.task_queue = task_queue
        #: Where `rectify up` serves the API and the pages, once it does.
        self.api_url: str | None = None
        super().__init__()

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def _refuse_if_running(self) -> None:
        import json

        try:
            info = json.loads(self.stack_file.read_text())
        except (OSError, ValueError):
            return
        pid = info.get("pid")
        try:
            if pid and pid != os.getpid():
                os.kill(pid, 0)
                raise StackError(
                    f"a stack is already running from {self.data_dir} (process {pid}, Temporal at "
                    f"{info.get('temporal_address')}); use it, or stop it first (Ctrl-C in its terminal)"
                )
        except ProcessLookupError:
            pass  # a stale file from a stack that died; take over

    async def _start(self) -> None:
        import json

        from rectify.city import DEFAULT_CITY_DIR, load_city
        from rectify.client import connect_temporal
        from rectify.config import Settings

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_if_running()
        self.city = load_city(self.city_dir or DEFAULT_CITY_DIR)
        self.pg = EmbeddedPostgres(self.data_dir / "postgres", fsync=self.fsync)
        # Started from this (the main) thread on purpose: PR_SET_PDEATHSIG fires when the forking *thread*
        # exits, so a server forked from a pool thread could be killed when that thread is recycled.
        self.pg.start()
        self._stack.callback(self.pg.stop)  # if Temporal cannot start; stop_together below otherwise
        self.temporal = TemporalDevServer(self.data_dir / TEMPORAL_DB, log_file=self.data_dir / "temporal.log")
        self.temporal.start()
        self._stack.callback(stop_together, self.temporal, self.pg)
        self.database_url = self.pg.url
        self.settings = Settings(
            temporal_address=self.temporal.address,
            database_url=self.database_url,
            data_dir=self.data_dir,
            city_dir=self.city_dir,
            task_queue=self.task_queue,
            checkpoint_every=self.checkpoint_every,
        )
        temporal_client = await connect_temporal(self.settings, patience=30)
        await self._serve(temporal_client, self.database_url, self.city, self.data_dir / "bulletins")
        from rectify.workflows import schedules

        await schedules.ensure_checkpoint_schedule(temporal_client, self.task_queue, self.settings.checkpoint_every)
        await schedules.ensure_full_verify_schedule(temporal_client, self.task_queue, self.city.policy.timezone)
        await schedules.ensure_bulletin_schedule(temporal_client, self.task_queue, self.city.policy.timezone)
        self.stack_file.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "temporal_address": self.temporal.address,
                    "temporal_ui": self.temporal.ui_url,
                    "database_url": self.database_url,
                    "namespace": "default",
                }
            )
        )
        self._stack.callback(self.stack_file.unlink, missing_ok=True)


@contextlib.asynccontextmanager
async def open_store(
    settings: Settings, database_url: str | None = None, *, migrated: bool = False
) -> AsyncIterator[Any]:
    """The given or configured database, or the embedded one under the data folder, started just for this work and
    stopped after it; `migrated` brings its schema up to date first (an auditor's read-only role cannot)."""
    from rectify.client import ServerUnavailable
    from rectify.store import EventStore, migrate

    url = database_url or settings.database_url
    pg = None
    if url is None:
        folder = settings.data_dir / "postgres"
        if not (folder / "PG_VERSION").exists():
            raise ServerUnavailable(
                f"no database: set RECTIFY_DATABASE_URL, pass --database-url, or create data under {settings.data_dir} "
                "(make demo, rectify up)"
            )
        pg = EmbeddedPostgres(folder.resolve()).start()
        url = pg.url
    try:
        try:
            store = await EventStore.connect(url, max_size=4)
        except OSError as error:
            raise ServerUnavailable(f"PostgreSQL at {url} could not be reached: {error}") from error
        try:
            if migrated:
                await migrate(store.pool)
            yield store
        finally:
            await store.close()
    finally:
        if pg is not None:
            pg.stop()
