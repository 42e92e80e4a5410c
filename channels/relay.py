"""The relay: notices from the outbox to the units' channels, at least once, from every worker at the same time.

Each round it fans out the outbox notices not yet considered (one delivery per channel that takes each),
leases the due deliveries (so no two relays send the same one), tries each under its channel's circuit and
the retry rule (`deliver_once`), and records the attempt and the next step in one transaction. Between
rounds it sleeps until the next delivery is due, at most `idle`, and wakes at once when an append writes a
notice or an operator retries a dead letter (PostgreSQL LISTEN/NOTIFY, store/notices.py).

Why a loop in each worker rather than a Temporal workflow: the schedule, the leases and the circuits live in
PostgreSQL (every worker shares them), the tries run on the wall clock (a workflow's clock skips in the
test server), and a new notice should go within a round trip; docs/notices.md says more.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Annotated, assert_never

import asyncpg
import httpx
import structlog
from pydantic import Field

from rectify.channels.circuit import Circuit, CircuitPolicy, CircuitState, Send, Wait, admit, record
from rectify.channels.config import ChannelBook
from rectify.channels.deliver import Delivery, deliver_once
from rectify.channels.outcome import Attempt, Clock, Outcome, utc_now
from rectify.channels.retry import Delivered, GiveUp, RetryAt, RetryPolicy
from rectify.channels.send import Sender
from rectify.channels.text import compose
from rectify.domain.notifications import NoticeFacts
from rectify.domain.policy import Policy
from rectify.domain.types import Frozen
from rectify.store.notices import Due, NoticeStore
from rectify.store.notices import Outcome as Step

log = structlog.get_logger("rectify.relay")

#: Tries recorded together in one statement (and at the end of each round).
WRITE_EVERY = 16
#: How long a stopping relay lets sends in flight finish; any left are cancelled and their leases run out.
STOP_BOUND = 5.0


class RelayOptions(Frozen):
    #: The web app's address: a notice links to `{base_url}/cases/{case_id}`.
    base_url: str
    retry: RetryPolicy = RetryPolicy()
    circuit: CircuitPolicy = CircuitPolicy()
    #: Deliveries leased per round, and sent at once at most.
    batch: Annotated[int, Field(ge=1, le=1000)] = 64
    concurrency: Annotated[int, Field(ge=1, le=256)] = 16
    #: Outbox notices considered per round.
    fan_out: Annotated[int, Field(ge=1, le=10_000)] = 500
    #: A leased delivery whose relay died goes to another after this (longer than any send may take).
    lease: timedelta = timedelta(minutes=2)
    #: The longest sleep between rounds when nothing wakes the relay.
    idle: timedelta = timedelta(seconds=30)


def options_for(book: ChannelBook, base_url: str) -> RelayOptions:
    """The relay's options in production: the book's `[delivery]` rules, links to `base_url`."""
    delivery = book.delivery
    lease = timedelta(seconds=delivery.lease_s)
    return RelayOptions(base_url=base_url, retry=delivery.retry(), circuit=delivery.circuit(), lease=lease)


class RelayReport(Frozen):
    considered: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    held: int = 0
    #: Seconds until the next delivery is due (None: nothing pending).
    due_in: float | None = None
    #: A full batch was taken: go again at once.
    busy: bool = False


#: What a relay counts since it started (its report's fields).
TOTALS = ("considered", "sent", "delivered", "failed", "dead", "held")


class StoreCircuits:
    """The circuits as the store keeps them, one row per channel shared by every worker.

    A circuit read closed at the round's start lets its notices through without a lock (the common case);
    any other is admitted under its row lock. A failure is counted under the lock; a success closes a circuit
    that was not closed and clear, with one conditional write.
    """

    def __init__(self, notices: NoticeStore, policy: CircuitPolicy) -> None:
        self.notices, self.policy = notices, policy
        self.seen: dict[str, CircuitState] = {}

    async def refresh(self, channel_ids: set[str]) -> None:
        rows = await self.notices.circuits(channel_ids)
        self.seen = {channel_id: CircuitState(**row) for channel_id, row in rows.items()}

    async def admit(self, channel_id: str, now: datetime) -> Send | Wait:
        seen = self.seen.get(channel_id)
        if seen is None or seen.state is Circuit.CLOSED:
            return Send()
        verdicts: list[Send | Wait] = []

        def change(row: dict) -> dict:
            state, verdict = admit(CircuitState(**row), now, self.policy)
            verdicts.append(verdict)
            return _row(state)

        self.seen[channel_id] = CircuitState(**await self.notices.change_circuit(channel_id, change))
        return verdicts[-1]

    async def record(self, channel_id: str, attempt: Attempt, now: datetime) -> CircuitState:
        if attempt.outcome is not Outcome.RETRYABLE:
            closed = CircuitState(channel_id=channel_id)
            if self.seen.get(channel_id, closed) != closed:  # closed with no failures already: nothing to write
                await self.notices.close_circuit(channel_id)
            self.seen[channel_id] = closed
        else:
            row = await self.notices.change_circuit(
                channel_id, lambda row: _row(record(CircuitState(**row), attempt, now, self.policy))
            )
            self.seen[channel_id] = CircuitState(**row)
        return self.seen[channel_id]


def _row(state: CircuitState) -> dict:
    return {**state.model_dump(), "state": state.state.value}


class NoticeRelay:
    def __init__(
        self,
        notices: NoticeStore,
        book: ChannelBook,
        sender: Sender,
        policy: Policy,
        options: RelayOptions,
        *,
        worker: str,
        database_url: str | None = None,
        rand: Callable[[], float] = random.random,
        clock: Clock = utc_now,
        observe: Callable[[RelayReport], None] | None = None,
    ) -> None:
        self.notices, self.book, self.sender, self.policy, self.options = notices, book, sender, policy, options
        self.worker, self.database_url, self.rand, self.clock = worker, database_url, rand, clock
        self.circuits = StoreCircuits(notices, options.circuit)
        self.units = {c.unit for c in book.channels if c.enabled}
        #: Totals since start; `observe` sees each round's report (the worker's metrics).
        self.totals = dict.fromkeys(TOTALS, 0)
        self.observe = observe

    def route(self, facts: NoticeFacts) -> list[str]:
        return [c.id for c in self.book.for_notice(facts)]

    async def round(self) -> RelayReport:
        """Fan out, lease, send and record once; what it did, and when the next delivery is due.

        Each channel's deliveries go one after another, in the order they fell due (a group chat reads the
        rungs in order); channels go side by side. A try's record is written while the next try is made.
        """
        considered = await self.notices.fan_out(self.policy, self.route, self.units, limit=self.options.fan_out)
        due = await self.notices.claim(self.worker, limit=self.options.batch, lease=self.options.lease)
        ends: list[str] = []
        if due:
            await self.circuits.refresh({d.channel_id for d in due})
            queues: dict[str, list[Due]] = {}
            for d in due:
                queues.setdefault(d.channel_id, []).append(d)
            gate, writing = asyncio.Semaphore(self.options.concurrency), asyncio.Lock()
            tried: list[tuple[Due, Step, dict | None]] = []
            writes: list[asyncio.Task] = []

            def write() -> None:
                if tried:
                    writes.append(asyncio.create_task(self._record(list(tried), writing)))
                    tried.clear()

            async def send_in_turn(queue: list[Due]) -> None:
                async with gate:
                    for d in queue:
                        end, step, attempt = await self._try(d)
                        ends.append(end)
                        if step is not None:
                            tried.append((d, step, attempt))
                        if len(tried) >= WRITE_EVERY:
                            write()

            renewing = asyncio.create_task(self._renew(due[0].lease))
            try:
                await asyncio.gather(*(send_in_turn(q) for q in queues.values()))
                write()
                await asyncio.gather(*writes)
            finally:
                renewing.cancel()
                for task in writes:
                    task.cancel()  # only when the round itself was cancelled: their leases run out
        counts = {end: ends.count(end) for end in ("delivered", "failed", "refused", "dead", "held")}
        report = RelayReport(
            considered=considered,
            sent=counts["delivered"] + counts["failed"] + counts["refused"],
            delivered=counts["delivered"],
            failed=counts["failed"],
            dead=counts["dead"] + counts["refused"],
            held=counts["held"],
            due_in=await self.notices.due_in(),
            busy=considered >= self.options.fan_out or len(due) >= self.options.batch,
        )
        for name in TOTALS:
            self.totals[name] += getattr(report, name)
        if self.observe is not None:
            self.observe(report)
        return report

    async def _try(self, due: Due) -> tuple[str, Step | None, dict | None]:
        """One delivery's try: how it ended, its next step and the attempt to record.

        Ends: delivered; failed (to be tried again); refused (a permanent failure or the last try: dead); dead
        (not tried: no such channel here, or facts it cannot word); held (by an open circuit); error (a fault
        of ours, logged: nothing is recorded and the lease runs out).
        """
        channel = self.book.get(due.channel_id)
        problem = None
        if channel is None or not channel.enabled or due.facts is None:
            problem = f"channel {due.channel_id} is not configured on worker {self.worker}, or is disabled"
        else:
            try:
                text = compose(NoticeFacts.model_validate(due.facts), self.policy, self.options.base_url)
            except ValueError as error:  # facts this code cannot word (a newer worker wrote them)
                problem = f"cannot be worded: {error}"[:500]
        if problem is not None or channel is None:
            dead = Step(
                state="dead", failures=due.failures, first_at=due.first_at, reason=problem, failed_at=self.clock()
            )
            return "dead", dead, None
        delivery = Delivery(
            notice_id=due.notification_id, channel_id=due.channel_id, failures=due.failures, first_at=due.first_at
        )
        try:
            tried = await deliver_once(
                self.sender,
                self.circuits,
                channel,
                text,
                delivery,
                retry=self.options.retry,
                rand=self.rand(),
                clock=self.clock,
            )
        except Exception:  # the circuit's row unreachable, or a bug: the delivery waits for its lease to end
            log.exception("relay.try_failed", notice=due.notification_id, channel=due.channel_id)
            return "error", None, None
        kept = tried.delivery
        match tried.next:
            case Delivered(at=at):
                step = Step(state="delivered", failures=kept.failures, first_at=kept.first_at, delivered_at=at)
            case RetryAt(at=at):
                step = Step(state="pending", failures=kept.failures, first_at=kept.first_at, next_at=at)
            case GiveUp(reason=reason):
                step = Step(
                    state="dead", failures=kept.failures, first_at=kept.first_at, reason=reason, failed_at=tried.at
                )
            case _:
                assert_never(tried.next)
        if tried.attempt is None:
            return ("dead" if step.state == "dead" else "held"), step, None
        if not tried.attempt.delivered:
            log.info(
                "relay.attempt_failed",
                notice=due.notification_id,
                channel=due.channel_id,
                outcome=tried.attempt.outcome.value,
                reason=tried.attempt.reason,
                next=step.state,
            )
        end = {"delivered": "delivered", "pending": "failed", "dead": "refused"}[step.state]
        return end, step, tried.attempt.model_dump()

    async def _record(self, tried: list[tuple[Due, Step, dict | None]], writing: asyncio.Lock) -> None:
        """Record tries in one statement, one write at a time (the sends go on meanwhile)."""
        async with writing:
            try:
                moved = await self.notices.record_many(tried, self.worker)
            except Exception:  # the database away: the deliveries go again when their leases end (at least once)
                log.exception("relay.record_failed", deliveries=len(tried))
                return
        for d, _, _ in tried:
            if (d.notification_id, d.channel_id) not in moved:
                log.warning("relay.lease_lost", notice=d.notification_id, channel=d.channel_id, worker=self.worker)

    async def _renew(self, lease: str) -> None:
        """Keep this round's leases while it runs (a relay that dies stops renewing, and its leases end)."""
        every = self.options.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.notices.renew(lease, self.options.lease)
            except Exception as error:
                log.warning("relay.renew_failed", error=f"{type(error).__name__}: {error}")

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop`; a database that is away is waited for, never a reason to stop."""
        wake = asyncio.Event()
        listener: asyncpg.Connection | None = None
        trouble = 0
        try:
            while not stop.is_set():
                try:
                    if self.database_url and (listener is None or listener.is_closed()):
                        listener = await self.notices.listen(self.database_url, wake.set)
                    wake.clear()
                    report = await self.round()
                    trouble = 0
                except Exception as error:  # the database away, or a bug: logged, waited on, never fatal
                    trouble += 1
                    expected = isinstance(error, OSError | asyncpg.PostgresError | asyncpg.InterfaceError)
                    (log.warning if expected else log.exception)(
                        "relay.round_failed", error=f"{type(error).__name__}: {error}", worker=self.worker
                    )
                    await _sleep(stop, wake, min(2.0**trouble, self.options.idle.total_seconds()), wake_ok=False)
                    continue
                if report.busy:
                    continue
                idle = self.options.idle.total_seconds()
                delay = idle if report.due_in is None else min(max(report.due_in, 0.0), idle)
                await _sleep(stop, wake, delay)
        finally:
            if listener is not None and not listener.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(listener.close(), 2)


async def _sleep(stop: asyncio.Event, wake: asyncio.Event, seconds: float, *, wake_ok: bool = True) -> None:
    waits = [asyncio.ensure_future(stop.wait())] + ([asyncio.ensure_future(wake.wait())] if wake_ok else [])
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


@contextlib.asynccontextmanager
async def relay_running(
    pool: asyncpg.Pool,
    book: ChannelBook,
    policy: Policy,
    options: RelayOptions,
    *,
    worker: str,
    database_url: str | None,
    smtp_tls: ssl.SSLContext | None = None,
    observe: Callable[[RelayReport], None] | None = None,
) -> AsyncIterator[NoticeRelay]:
    """A relay running in this process until the block ends (its sends in flight get `STOP_BOUND` seconds)."""
    async with httpx.AsyncClient(follow_redirects=False) as http:
        relay = NoticeRelay(
            NoticeStore(pool),
            book,
            Sender(http, smtp_tls=smtp_tls),
            policy,
            options,
            worker=worker,
            database_url=database_url,
            observe=observe,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop), name="notice-relay")
        log.info("relay.started", worker=worker, channels=len(book.channels))
        try:
            yield relay
        finally:
            stop.set()
            done, _ = await asyncio.wait([task], timeout=STOP_BOUND)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif (error := task.exception()) is not None:
                log.error("relay.failed", error=f"{type(error).__name__}: {error}")
