"""What the fault tests share: worker processes whose output is kept, who ran which task, and the audit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from rectify.audit.histories import history_check
from rectify.audit.verify import verify
from rectify.devstack import TestStack
from rectify.store import EventStore
from rectify.workflows.models import workflow_id_for


def worker_process(stack: TestStack, log: Path, identity: str, *, cache: int | None = None) -> subprocess.Popen:
    """Another worker on the same task queue, in its own process (how Rectify scales out), named `identity`.

    Its stderr goes to `log` (shown by `output_on_failure`); `cache=0` keeps no workflow in memory.
    """
    env = {**os.environ, **stack.worker_environment(), "RECTIFY_WORKER_IDENTITY": identity}
    if cache is not None:
        env["RECTIFY_WORKFLOW_CACHE"] = str(cache)
    with log.open("ab") as sink:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "rectify.worker"], env=env, stderr=sink)


@contextlib.contextmanager
def output_on_failure(*logs: Path) -> Iterator[None]:
    """When the block fails, the end of each log is added to the error, so the report shows it."""
    try:
        yield
    except BaseException as error:
        for log in logs:
            text = log.read_text(errors="replace") if log.exists() else "(nothing written)"
            error.add_note(f"--- the end of {log.name} ---\n{text[-4000:]}")
        raise


async def polling(client: Client, task_queue: str, identities: set[str], timeout: float = 30) -> None:
    """Wait until a worker of each identity polls the queue for workflow tasks."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    give_up = time.monotonic() + timeout
    while not identities <= {p.identity for p in (await client.workflow_service.describe_task_queue(request)).pollers}:
        assert time.monotonic() < give_up, f"no workflow task poller named {sorted(identities)} within {timeout:.0f} s"
        await asyncio.sleep(0.2)


async def task_identities(client: Client, case_id: str) -> list[str]:
    """The identity of the worker that started each workflow task of the case, from its Temporal history."""
    history = await client.get_workflow_handle(workflow_id_for(case_id)).fetch_history()
    return [
        e.workflow_task_started_event_attributes.identity
        for e in history.events
        if e.HasField("workflow_task_started_event_attributes")
    ]


async def assert_audit_verifies(store: EventStore, temporal: Client, *, cases: int) -> None:
    """What `rectify audit verify` runs, Temporal's histories included: every check passes, and the history
    cross-check compared at least `cases` case workflows (its list comes from the eventually consistent
    visibility store, so it is asked again for a while)."""
    give_up = time.monotonic() + 30
    while True:
        report = await verify(store, histories=history_check(temporal))
        [histories] = [r for r in report.results if r.check == "temporal histories"]
        if histories.checked >= cases or time.monotonic() > give_up:
            break
        await asyncio.sleep(0.5)
    assert report.ok, [f"{r.check}: {f.where()}: {f.problem}" for r in report.results for f in r.findings]
    assert histories.checked >= cases, f"the history cross-check compared {histories.checked} of {cases} cases"


class HeldReplies:
    """A TCP relay to PostgreSQL that can hold the server's answers to statements: once `hold()` is called, a
    statement sent through it is prepared, runs and commits, but its client hears nothing from the moment the
    server answers its execution (a network that stalls right after the server committed).

    Arm it while its clients are idle: it reads the server's messages from there on (type byte, length) and holds
    from the first reply to an execution (BindComplete, a row, or a completed command) onwards; the replies that
    prepare a statement pass, so a client's first use of a statement still reaches its execution. `url()` gives
    a database URL through the relay. Stopped, its connections closed, on leaving the block."""

    EXECUTED = frozenset(b"2DC")

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.armed = False
        self.relays: set[asyncio.Task] = set()

    async def __aenter__(self) -> HeldReplies:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for task in list(self.relays):
            task.cancel()
        await asyncio.gather(*self.relays, return_exceptions=True)
        await self.server.wait_closed()

    def url(self, database_url: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(database_url)
        return parts._replace(netloc=f"{parts.username}@127.0.0.1:{self.port}").geturl()

    def hold(self) -> None:
        self.armed = True

    def _split(self, pending: bytes) -> tuple[int, bool]:
        """How many bytes of `pending` may pass (whole messages before any reply to an execution), and whether
        such a reply begins there."""
        at = 0
        while len(pending) - at >= 5:
            if pending[at] in self.EXECUTED:
                return at, True
            at += 1 + int.from_bytes(pending[at + 1 : at + 5], "big")
        return min(at, len(pending)), False

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.relays.add(asyncio.current_task())  # type: ignore[arg-type]
        server_reader, server_writer = await asyncio.open_connection(*self.target)

        async def upstream() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await client_reader.read(65536):
                    server_writer.write(data)
                    await server_writer.drain()
            server_writer.close()

        async def downstream() -> None:
            pending, holding = b"", False
            with contextlib.suppress(ConnectionError):
                while data := await server_reader.read(65536):
                    if not self.armed:
                        client_writer.write(data)
                    elif not holding:
                        pending += data
                        passed, holding = self._split(pending)
                        client_writer.write(pending[:passed])
                        pending = pending[passed:]
                    else:
                        pending += data  # held until the connection closes
                    await client_writer.drain()
            client_writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        finally:
            self.relays.discard(asyncio.current_task())  # type: ignore[arg-type]
