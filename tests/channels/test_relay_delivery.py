"""The relay against the store and a real local webhook receiver (tests/receivers.py), round by round: two
relays share the work and never send a delivery twice; retries, the circuit and the dead letters as the
store keeps them; a relay that dies mid-send, and one whose send outlasts its lease."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.channels.config import ChannelBook, WebhookChannel
from rectify.channels.relay import NoticeRelay, relay_running
from rectify.store import EventStore, migrate
from rectify.store.notices import NoticeStore
from tests.support.given import LEAD, OTHER, POLICY
from tests.support.notices import FAST_RELAY, file_reports, relay
from tests.support.receivers import HttpReceiver, http_receiver

SECRET = "relay-test-secret-0123456789"
MS = timedelta(milliseconds=1)
FAST = FAST_RELAY


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url)
    await migrate(s.pool)
    yield s
    await s.close()


@pytest.fixture
async def rx() -> AsyncIterator[HttpReceiver]:
    async with http_receiver(webhook_secrets={"unit": SECRET}) as receiver:
        yield receiver


def book(rx: HttpReceiver, unit: str = LEAD) -> ChannelBook:
    return ChannelBook(channels=(WebhookChannel(id="hook", unit=unit, url=f"{rx.url}/hook/unit", secret=SECRET),))


async def drain(r: NoticeRelay, *, seconds: float = 20.0) -> None:
    """Rounds until nothing is pending (each round sleeping until its next delivery is due)."""
    for _ in range(int(seconds / 0.02)):
        report = await r.round()
        if report.due_in is None and not report.busy and not report.considered:
            return
        await asyncio.sleep(min(max(report.due_in or 0.0, 0.0), 0.05) + 0.005)
    raise AssertionError("deliveries still pending")


async def test_two_relays_share_the_work_and_never_send_a_delivery_twice(store: EventStore, rx: HttpReceiver) -> None:
    ids = await file_reports(store, 60)
    rx.delay_s = 0.005  # sends overlap: each relay's claim races the other's
    few = FAST.model_copy(update={"batch": 7, "fan_out": 11})
    async with relay(store, book(rx), worker="w1", options=few) as one, relay(store, book(rx), worker="w2") as two:
        two.options = few
        await asyncio.gather(drain(one), drain(two))
    assert sorted(r.headers["Idempotency-Key"] for r in rx.of("unit")) == sorted(ids)  # each once, none twice
    assert one.totals["delivered"] > 0 and two.totals["delivered"] > 0
    assert one.totals["delivered"] + two.totals["delivered"] == 60
    workers = await store.pool.fetch("SELECT worker, count(*) AS n FROM notice_attempts GROUP BY worker")
    assert {r["worker"]: r["n"] for r in workers} == {"w1": one.totals["sent"], "w2": two.totals["sent"]}


async def test_five_failures_open_the_circuit_which_holds_the_notice_and_a_probe_delivers_it(
    store: EventStore, rx: HttpReceiver
) -> None:
    [notice_id] = await file_reports(store, 1)
    rx.fail_next("unit", 5)  # 503 five times, then 200
    notices = NoticeStore(store.pool)
    seen_states: list[str] = []
    async with relay(store, book(rx)) as r:
        for _ in range(400):
            report = await r.round()
            seen_states.append((await notices.circuits()).get("hook", {}).get("state", "closed"))
            if report.delivered:
                break
            await asyncio.sleep(0.01)
    attempts = await notices.attempts(notice_id)
    assert [a.outcome for a in attempts] == ["retryable"] * 5 + ["delivered"]
    assert [a.status for a in attempts] == [503] * 5 + [200]
    assert "open" in seen_states and seen_states[-1] == "closed"  # opened after five, closed by the probe
    assert r.totals["held"] > 0  # while open, the notice waited: held, not tried (six attempts, no more)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05 and gaps[3] >= 0.1  # backoff: 50 ms, then capped at 100 ms
    assert gaps[4] >= 0.3  # the circuit's cool-down before the probe
    [delivery] = await notices.deliveries(notice_id)
    assert delivery["state"] == "delivered" and delivery["failures"] == 5
    assert len(rx.of("unit")) == 6 and list(rx.kept["unit"]) == [notice_id]


async def test_a_refused_notice_is_a_dead_letter_until_an_operators_retry_wakes_a_relay_that_delivers_it(
    store: EventStore, rx: HttpReceiver, fresh_database_url: str
) -> None:
    [notice_id] = await file_reports(store, 1)
    rx.fail_next("unit", 1, status=400)  # a permanent refusal: no retry
    notices = NoticeStore(store.pool)
    async with relay(store, book(rx)) as r:
        await drain(r)
    [letter] = await notices.dead_letters()
    assert (letter.notification_id, letter.channel_id, letter.recipient) == (notice_id, "hook", LEAD)
    assert letter.reason.startswith("permanent failure") and "400" in letter.reason and letter.attempts == 1
    assert (await notices.deliveries(notice_id))[0]["state"] == "dead"
    # A relay asleep for a minute: only the retry's wake-up (LISTEN/NOTIFY) can make it deliver in time.
    sleepy = FAST.model_copy(update={"idle": timedelta(minutes=1)})
    async with relay_running(store.pool, book(rx), POLICY, sleepy, worker="w9", database_url=fresh_database_url):
        await asyncio.sleep(0.5)  # its first round has run and found nothing due
        assert await notices.retry(letter_id=letter.id, by="ops") == [letter.id]
        for _ in range(200):
            if rx.kept["unit"]:
                break
            await asyncio.sleep(0.02)
    assert list(rx.kept["unit"]) == [notice_id]
    assert await notices.dead_letters() == []
    [kept] = await notices.dead_letters(include_retried=True)
    assert kept.retried_by == "ops" and kept.retried_at is not None
    assert [a.outcome for a in await notices.attempts(notice_id)] == ["permanent", "delivered"]
    assert await notices.retry(letter_id=letter.id, by="ops") == []  # retried already: nothing to do


async def test_a_relay_that_dies_mid_send_leaves_the_delivery_to_another_and_the_receiver_keeps_it_once(
    store: EventStore, rx: HttpReceiver
) -> None:
    [notice_id] = await file_reports(store, 1)
    short = FAST.model_copy(update={"lease": timedelta(seconds=1)})
    rx.delay_s = 0.6
    async with relay(store, book(rx), worker="w1", options=short) as dying, relay(store, book(rx), worker="w2") as heir:
        heir.options = short
        round_ = asyncio.create_task(dying.round())
        await asyncio.sleep(0.3)  # the request is at the receiver, its answer not yet back
        round_.cancel()  # the worker is gone: nothing recorded, the lease left to run out
        with pytest.raises(asyncio.CancelledError):
            await round_
        rx.delay_s = 0.0
        assert (await heir.round()).sent == 0  # still leased to the dead relay
        await asyncio.sleep(1.2)
        assert (await heir.round()).delivered == 1
    await asyncio.sleep(0.5)  # the dead relay's request was answered meanwhile
    assert len(rx.of("unit")) == 2 and list(rx.kept["unit"]) == [notice_id]  # sent twice, kept once
    attempts = await NoticeStore(store.pool).attempts(notice_id)
    assert [(a.worker, a.outcome) for a in attempts] == [("w2", "delivered")]


async def test_a_send_that_outlasts_the_lease_keeps_it_and_is_not_sent_again(
    store: EventStore, rx: HttpReceiver
) -> None:
    [notice_id] = await file_reports(store, 1)
    short = FAST.model_copy(update={"lease": timedelta(milliseconds=600)})
    rx.delay_s = 1.5
    async with relay(store, book(rx), worker="w1", options=short) as slow, relay(store, book(rx), worker="w2") as other:
        other.options = short

        async def keep_trying() -> None:
            await asyncio.sleep(0.2)  # once the slow relay holds the lease
            for _ in range(30):
                await other.round()
                await asyncio.sleep(0.1)

        await asyncio.gather(slow.round(), keep_trying())
    assert len(rx.of("unit")) == 1 and list(rx.kept["unit"]) == [notice_id]
    assert slow.totals["delivered"] == 1 and other.totals["sent"] == 0


async def test_notices_to_units_without_channels_stay_in_the_inboxes_and_a_vanished_channel_is_a_dead_letter(
    store: EventStore, rx: HttpReceiver
) -> None:
    await file_reports(store, 2, "a")
    async with relay(store, book(rx, unit=OTHER)) as r:  # a channel, but for another unit
        assert (await r.round()).considered == 2
    rows = await store.pool.fetch("SELECT facts, channels_at FROM outbox")
    assert all(row["facts"] is None and row["channels_at"] is not None for row in rows)
    assert await store.pool.fetchval("SELECT count(*) FROM notice_deliveries") == 0
    [*_, notice_id] = await file_reports(store, 1, "b")
    notices = NoticeStore(store.pool)
    assert await notices.fan_out(POLICY, lambda facts: ["hook"], {LEAD}) == 1
    async with relay(store, ChannelBook()) as r:  # the channel was removed from this worker's file since
        report = await r.round()
    assert (report.sent, report.dead) == (0, 1) and rx.requests == []
    [letter] = await notices.dead_letters()
    assert letter.notification_id == notice_id and "not configured" in letter.reason and letter.attempts == 0
