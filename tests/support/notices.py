"""Notices made the way the system makes them: commands through the decider, notifications from the events,
facts from the case after each batch, words from channels/text.py; cases filed in a store, and a relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx

from rectify.channels.circuit import CircuitPolicy
from rectify.channels.config import ChannelBook
from rectify.channels.relay import NoticeRelay, RelayOptions
from rectify.channels.retry import RetryPolicy
from rectify.channels.send import Sender
from rectify.channels.text import NoticeText, compose
from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.events import Event
from rectify.domain.notifications import NoticeFacts, notice_facts, notifications_for
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState, fold
from rectify.store import EventStore
from rectify.store.notices import NoticeStore
from tests.support.given import POLICY, T0, report, tick

BASE_URL = "https://rectify.example.invalid/"
#: A relay for tests: retries after 50 ms (at most 100 ms), a circuit that opens after 5 and cools for 300 ms.
FAST_RELAY = RelayOptions(
    base_url=BASE_URL,
    retry=RetryPolicy(first_delay=timedelta(milliseconds=50), max_delay=timedelta(milliseconds=100), jitter=0.0),
    circuit=CircuitPolicy(failures_to_open=5, cool_down=timedelta(milliseconds=300)),
    idle=timedelta(milliseconds=200),
)


def facts_of(
    *steps: tuple[timedelta, c.Command], policy: Policy = POLICY
) -> tuple[list[NoticeFacts], CaseState | None, list[Event]]:
    """Every notice's facts, in order, for commands accepted at T0 + each offset."""
    state: CaseState | None = None
    found: list[NoticeFacts] = []
    history: list[Event] = []
    for offset, command in steps:
        events = decide(state, command, T0 + offset, policy)
        state = fold(events, state)
        history += events
        for note in notifications_for(events, state.lead_unit if state else None):
            event = next(e for e in events if e.event_id == note.event_id)
            found.append(notice_facts(note, event, state, policy))
    return found, state, history


def ladder_notices(**report_fields: object) -> list[NoticeFacts]:
    """A case dispatched at T0 and left alone for three days: dispatch, both misses, 催办 and 曝光."""
    found, _, _ = facts_of((timedelta(0), report(**report_fields)), (timedelta(days=3), tick()))
    return found


def a_notice(kind: str = "case_dispatched", **report_fields: object) -> NoticeText:
    facts = next(f for f in ladder_notices(**report_fields) if f.kind == kind)
    return compose(facts, POLICY, BASE_URL)


async def file_reports(store: EventStore, count: int, prefix: str = "r") -> list[str]:
    """`count` cases reported and dispatched to LEAD: one notice each. Returns the notice ids, oldest first."""
    for i in range(count):
        events = decide(None, report(f"{prefix}-{i}"), T0, POLICY)
        state = fold(events)
        assert state is not None
        await store.append(state.case_id, 0, events, state)
    rows = await store.pool.fetch("SELECT notification_id FROM outbox ORDER BY created_at, notification_id")
    return [r["notification_id"] for r in rows]


@asynccontextmanager
async def relay(
    store: EventStore, channels: ChannelBook, *, worker: str = "w1", options: RelayOptions | None = None
) -> AsyncIterator[NoticeRelay]:
    async with httpx.AsyncClient() as http:
        yield NoticeRelay(NoticeStore(store.pool), channels, Sender(http), POLICY, options or FAST_RELAY, worker=worker)
