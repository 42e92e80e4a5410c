"""Retries with backoff and jitter, the circuit per endpoint, and the dead letters: the rules on their own, then
through a real local receiver that fails as told (tests/receivers.py); and the tables that will keep them."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from rectify.channels.circuit import (
    Circuit,
    CircuitPolicy,
    CircuitState,
    MemoryCircuits,
    Send,
    Wait,
    admit,
    record,
    reopens_at,
)
from rectify.channels.config import WebhookChannel
from rectify.channels.deliver import DeadLetter, Delivery, Step, dead_letter, deliver_once
from rectify.channels.outcome import Attempt, Outcome
from rectify.channels.retry import Delivered, GiveUp, RetryAt, RetryPolicy, next_step
from rectify.channels.send import Sender
from rectify.channels.text import NoticeText
from rectify.store.migrate import migrate
from tests.support.given import LEAD
from tests.support.notices import a_notice, ladder_notices
from tests.support.receivers import HttpReceiver, http_receiver

T = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
SECRET = "webhook-secret-0123456789"
S = timedelta(seconds=1)


def attempt(outcome: Outcome, at: datetime = T, *, retry_after_s: float | None = None) -> Attempt:
    return Attempt(
        channel_id="c",
        notice_id="n",
        outcome=outcome,
        reason=outcome.value,
        retry_after_s=retry_after_s,
        started_at=at,
        elapsed_ms=0,
    )


# -- the schedule ----------------------------------------------------------------------------------------------
def test_the_wait_doubles_from_the_first_delay_up_to_the_cap_and_jitter_only_shortens_it() -> None:
    policy = RetryPolicy()
    assert [d.total_seconds() for d in policy.schedule([0.0] * 10)] == [
        15,
        30,
        60,
        120,
        240,
        480,
        960,
        1800,
        1800,
        1800,
    ]
    draws = random.Random(1)
    for failures in range(1, 40):
        exact = policy.delay(failures, 0.0)
        jittered = [policy.delay(failures, draws.random()) for _ in range(50)]
        assert all(exact * 0.5 <= d <= exact for d in jittered)
        assert len(set(jittered)) > 40  # spread, not one moment for every notice that failed together
    assert RetryPolicy(jitter=1.0).delay(3, 0.75) == timedelta(seconds=15)
    assert RetryPolicy().delay(10_000, 0.0) == timedelta(minutes=30)  # a long outage never overflows
    with pytest.raises(ValueError, match="failures counts from 1"):
        policy.delay(0, 0.0)


def test_what_follows_an_attempt() -> None:
    policy = RetryPolicy(max_attempts=4, give_up_after=timedelta(hours=1))
    assert next_step(policy, attempt(Outcome.DELIVERED), failures=3, first_at=T, rand=0.0) == Delivered(at=T)
    permanent = next_step(policy, attempt(Outcome.PERMANENT), failures=1, first_at=T, rand=0.0)
    assert isinstance(permanent, GiveUp) and permanent.reason.startswith("permanent failure")
    assert next_step(policy, attempt(Outcome.RETRYABLE), failures=3, first_at=T, rand=0.0) == RetryAt(at=T + 60 * S)
    last = next_step(policy, attempt(Outcome.RETRYABLE), failures=4, first_at=T, rand=0.0)
    assert isinstance(last, GiveUp) and last.reason.startswith("gave up after 4 attempts")
    asked = attempt(Outcome.RETRYABLE, retry_after_s=120)
    assert next_step(policy, asked, failures=1, first_at=T, rand=0.0) == RetryAt(at=T + 120 * S)
    greedy = attempt(Outcome.RETRYABLE, retry_after_s=86_400)  # Retry-After is honoured up to the cap only
    assert next_step(policy, greedy, failures=1, first_at=T, rand=0.0) == RetryAt(at=T + 30 * 60 * S)
    late = attempt(Outcome.RETRYABLE, T + timedelta(minutes=59, seconds=45))  # + 30 s is past the hour
    assert isinstance(next_step(policy, late, failures=2, first_at=T, rand=0.0), GiveUp)


# -- the circuit -----------------------------------------------------------------------------------------------
def test_the_circuit_opens_after_failures_in_a_row_probes_after_the_cool_down_and_closes_on_success() -> None:
    policy = CircuitPolicy(failures_to_open=3, cool_down=timedelta(minutes=1))
    state = CircuitState(channel_id="c")
    for i in range(2):
        state = record(state, attempt(Outcome.RETRYABLE), T + i * S, policy)
    assert (state.state, state.failures) == (Circuit.CLOSED, 2)
    assert record(state, attempt(Outcome.DELIVERED), T, policy) == CircuitState(channel_id="c")  # resets the count
    state = record(state, attempt(Outcome.RETRYABLE), T + 2 * S, policy)
    assert (state.state, state.opened_at) == (Circuit.OPEN, T + 2 * S)
    assert admit(state, T + 61 * S, policy) == (state, Wait(until=T + 62 * S))
    assert reopens_at(state, policy) == T + 62 * S
    probing, verdict = admit(state, T + 62 * S, policy)
    assert verdict == Send(probe=True) and probing.state is Circuit.HALF_OPEN
    assert admit(probing, T + 63 * S, policy) == (probing, Wait(until=T + 122 * S))  # one probe at a time
    reopened = record(probing, attempt(Outcome.RETRYABLE), T + 64 * S, policy)
    assert (reopened.state, reopened.opened_at) == (Circuit.OPEN, T + 64 * S)
    lost, again = admit(probing, T + 122 * S, policy)  # the probe's worker died: another probe goes
    assert again == Send(probe=True) and lost.probe_at == T + 122 * S
    assert record(lost, attempt(Outcome.DELIVERED), T + 123 * S, policy).state is Circuit.CLOSED
    assert record(lost, attempt(Outcome.PERMANENT), T + 123 * S, policy).state is Circuit.CLOSED  # it answered
    assert CircuitState.model_validate_json(reopened.model_dump_json()) == reopened  # a row in PostgreSQL later


# -- through a real receiver -----------------------------------------------------------------------------------
@pytest.fixture
async def rx() -> AsyncIterator[HttpReceiver]:
    async with http_receiver(webhook_secrets={"unit": SECRET}) as receiver:
        yield receiver


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with httpx.AsyncClient() as http:
        yield Sender(http=http)


FAST = RetryPolicy(first_delay=timedelta(milliseconds=20), max_delay=timedelta(milliseconds=200), max_attempts=8)


def hook(rx: HttpReceiver, secret: str = SECRET) -> WebhookChannel:
    return WebhookChannel(id="hook", unit=LEAD, url=f"{rx.url}/hook/unit", secret=secret)


async def drive(
    sender: Sender, circuits: MemoryCircuits, channel: WebhookChannel, text: NoticeText, retry: RetryPolicy = FAST
) -> list[Step]:
    """Deliver one notice as the delivery will: try, wait as told, try again, until delivered or given up."""
    draws, steps = random.Random(7), []
    delivery = Delivery(notice_id=text.notice_id, channel_id=channel.id)
    while len(steps) < 50:
        step = await deliver_once(sender, circuits, channel, text, delivery, retry=retry, rand=draws.random())
        steps.append(step)
        delivery = step.delivery
        if not isinstance(step.next, RetryAt):
            return steps
        await asyncio.sleep(max(0.0, (step.next.at - datetime.now(UTC)).total_seconds()))
    raise AssertionError("never settled")


async def test_a_notice_gets_through_a_receiver_that_fails_five_times(rx: HttpReceiver, sender: Sender) -> None:
    rx.fail_next("unit", 5, status=503)
    circuits = MemoryCircuits(CircuitPolicy(failures_to_open=10))
    text = a_notice()
    steps = await drive(sender, circuits, hook(rx), text)
    outcomes = [s.attempt.outcome for s in steps if s.attempt]
    assert outcomes == [Outcome.RETRYABLE] * 5 + [Outcome.DELIVERED]
    assert isinstance(steps[-1].next, Delivered) and steps[-1].delivery.failures == 5
    assert list(rx.kept["unit"]) == [text.notice_id] and len(rx.of("unit")) == 6
    starts = [s.attempt.started_at for s in steps if s.attempt]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= FAST.delay(n, 0.999) for n, gap in enumerate(gaps, start=1))  # it waited as scheduled


async def test_the_circuit_holds_notices_back_while_open_and_lets_them_through_after_a_good_probe(
    rx: HttpReceiver, sender: Sender
) -> None:
    policy = CircuitPolicy(failures_to_open=3, cool_down=timedelta(milliseconds=300))
    circuits = MemoryCircuits(policy)
    texts = [a_notice(kind) for kind in ("case_dispatched", "escalation_raised")]
    rx.fail_next("unit", 3, status=502)
    no_retry = RetryPolicy(max_attempts=1)
    for _ in range(3):
        failed = await deliver_once(
            sender, circuits, hook(rx), texts[0], Delivery(notice_id="n", channel_id="hook"), retry=no_retry, rand=0.5
        )
        assert failed.attempt and failed.attempt.outcome is Outcome.RETRYABLE
    assert circuits.state("hook").state is Circuit.OPEN
    held = await deliver_once(
        sender, circuits, hook(rx), texts[1], Delivery(notice_id="m", channel_id="hook"), retry=FAST, rand=0.5
    )
    assert held.attempt is None and isinstance(held.next, RetryAt) and len(rx.of("unit")) == 3  # nothing was sent
    assert held.next.at >= circuits.state("hook").opened_at + policy.cool_down
    steps = await drive(sender, circuits, hook(rx), texts[1])  # waits out the cool-down, then is the probe
    assert [s.attempt is None for s in steps] == [True, False] and steps[-1].attempt.delivered
    assert circuits.state("hook") == CircuitState(channel_id="hook")
    after = await drive(sender, circuits, hook(rx), texts[0])
    assert len(after) == 1 and after[0].attempt.delivered  # closed: straight through


async def test_a_failed_probe_opens_the_circuit_for_another_cool_down(rx: HttpReceiver, sender: Sender) -> None:
    policy = CircuitPolicy(failures_to_open=1, cool_down=timedelta(milliseconds=200))
    circuits = MemoryCircuits(policy)
    rx.fail_next("unit", 2, status=503)
    steps = await drive(sender, circuits, hook(rx), a_notice())
    sent = [s.attempt.outcome for s in steps if s.attempt]
    assert sent == [Outcome.RETRYABLE, Outcome.RETRYABLE, Outcome.DELIVERED]
    assert [s.attempt is None for s in steps].count(True) >= 2  # held back after each failure


async def test_a_permanent_failure_goes_to_the_dead_letters_at_once_and_an_operators_retry_delivers_it(
    rx: HttpReceiver, sender: Sender
) -> None:
    circuits = MemoryCircuits(CircuitPolicy())
    text = a_notice()
    [step] = await drive(sender, circuits, hook(rx, secret="a-wrong-secret-0123456789"), text)
    letter = dead_letter(step)
    assert letter is not None and (letter.notice_id, letter.channel_id, letter.attempts) == (text.notice_id, "hook", 1)
    assert letter.reason.startswith("permanent failure: HTTP 401") and rx.kept["unit"] == {}
    # The operator fixes the secret and retries the dead letter: a fresh delivery, the same notice and key.
    retried = await drive(sender, circuits, hook(rx), text)
    assert retried[-1].attempt.delivered and list(rx.kept["unit"]) == [text.notice_id]
    assert dead_letter(retried[-1]) is None


async def test_a_notice_that_keeps_failing_goes_to_the_dead_letters_after_the_last_attempt(
    rx: HttpReceiver, sender: Sender
) -> None:
    rx.fail_next("unit", 100, status=500)
    circuits = MemoryCircuits(CircuitPolicy(failures_to_open=100))
    steps = await drive(
        sender,
        circuits,
        hook(rx),
        a_notice(),
        RetryPolicy(first_delay=timedelta(milliseconds=5), max_delay=timedelta(milliseconds=20), max_attempts=4),
    )
    assert len(steps) == 4 and len(rx.of("unit")) == 4
    letter = dead_letter(steps[-1])
    assert letter is not None and letter.attempts == 4 and letter.reason.startswith("gave up after 4 attempts")


def test_every_notice_of_the_ladder_has_its_own_idempotency_key() -> None:
    ids = [f.notice_id for f in ladder_notices()]
    assert len(ids) == len(set(ids)) == 5


# -- the tables step 2's store will keep them in ------------------------------------------------------------
async def test_the_delivery_tables_hold_the_records_and_keep_attempts_append_only(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await migrate(conn)

        async def columns(table: str) -> set[str]:
            sql = "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
            return {r["column_name"] for r in await conn.fetch(sql, table)}

        assert await columns("channel_circuits") == set(CircuitState.model_fields) | {"updated_at"}
        assert set(Attempt.model_fields) - {"retry_after_s", "notice_id"} <= await columns("notice_attempts")
        assert set(DeadLetter.model_fields) - {"notice_id"} <= await columns("notice_dead_letters")
        assert {"facts", "channels_at"} <= await columns("outbox")
        await conn.execute(
            "INSERT INTO outbox (notification_id, case_id, event_id, recipient, kind, text) "
            "VALUES ('n1', 'c1', 'e1', 'st_a', 'case_dispatched', '新派单')"
        )
        await conn.execute("INSERT INTO notice_deliveries (notification_id, channel_id) VALUES ('n1', 'hook')")
        await conn.execute(
            "INSERT INTO notice_attempts (notification_id, channel_id, outcome, status, started_at, elapsed_ms) "
            "VALUES ('n1', 'hook', 'retryable', 503, now(), 12.5)"
        )
        for change in ("UPDATE notice_attempts SET outcome = 'delivered'", "DELETE FROM notice_attempts"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(change)
        with pytest.raises(asyncpg.CheckViolationError):  # an open circuit says since when
            await conn.execute("INSERT INTO channel_circuits (channel_id, state) VALUES ('hook', 'open')")
    finally:
        await conn.close()
