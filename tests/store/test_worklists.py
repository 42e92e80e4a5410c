"""The web pages' work lists on PostgreSQL: a unit's cases by deadline, cases awaiting verification, the inbox
(unread first, marked read only for its own unit), and drafts kept for their author only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.decider import case_id_for, decide
from rectify.domain.state import fold
from rectify.domain.types import EvidenceRef
from rectify.store import EventStore, migrate
from rectify.store import worklists as w
from tests.support.given import LEAD, OTHER, POLICY, T0, claim, cmd, dispatcher, inspector, report, routing, unit


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.connect(fresh_database_url)
    await migrate(store.pool)
    yield store
    await store.close()


async def _case(store: EventStore, key: str, lead: str, *steps: c.Command, category: str = "street_vending") -> str:
    """A case reported at T0 (+ an hour per key letter) and taken through `steps`, appended as the workflow does."""
    at = T0 + timedelta(hours=ord(key[0]) - ord("a"))
    case_id = case_id_for(key)
    state = None
    commands = [report(key, category=category, routing=routing(lead)), *steps]
    for command in commands:
        command = command.model_copy(update={"case_id": case_id, "command_id": f"{key}-{command.command_id}"})
        events = decide(state, command, at, POLICY)
        after = fold(events, state)
        await store.append(case_id, state.version if state else 0, events, after)
        await store.deliver_outbox(case_id)
        state, at = after, at + timedelta(minutes=5)
    return case_id


async def test_a_units_cases_come_nearest_deadline_first_and_others_never(store: EventStore) -> None:
    slow = await _case(store, "a", LEAD, category="illegal_structures")  # 49 h to rectify
    fast = await _case(store, "b", LEAD)  # 2 h to rectify, reported an hour later
    await _case(store, "c", OTHER)
    found = await w.cases_by_deadline(store.pool, LEAD, ["dispatched", "claimed"], 10)
    assert [r.case_id for r in found] == [fast, slow]
    assert await w.cases_by_deadline(store.pool, LEAD, ["submitted"], 10) == []


async def test_cases_awaiting_verification_by_territory(store: EventStore) -> None:
    photo = EvidenceRef(sha256="e" * 64, size=3, media_type="image/png")
    submit = cmd(c.SubmitRectification, unit(), evidence=(photo,))
    waiting = await _case(store, "d", LEAD, claim(), submit)
    await _case(store, "e", LEAD, claim())
    assert [r.case_id for r in await w.awaiting_verification(store.pool, None, 10)] == [waiting]
    assert [r.case_id for r in await w.awaiting_verification(store.pool, [LEAD], 10)] == [waiting]
    assert await w.awaiting_verification(store.pool, [OTHER], 10) == []
    assert await w.awaiting_by_territory(store.pool) == {LEAD: 1}
    verify = cmd(c.VerifyCase, inspector(), passed=True)
    await _case(store, "f", LEAD, claim(), submit, verify)
    assert len(await w.awaiting_verification(store.pool, None, 10)) == 1


async def test_the_inbox_reads_unread_first_and_marks_only_its_own_units_notices(store: EventStore) -> None:
    ours = await _case(store, "g", LEAD)
    theirs = await _case(store, "h", OTHER)
    await _case(store, "i", LEAD, cmd(c.ReassignCase, dispatcher(), to_unit=OTHER, reason="属乙街道"))
    notices = await w.inbox(store.pool, LEAD, 10)
    assert {n.case_id for n in notices} >= {ours}
    assert all(n.read_at is None for n in notices)
    assert await w.unread(store.pool, LEAD) == len(notices)
    theirs_ids = [n.notification_id for n in await w.inbox(store.pool, OTHER, 10) if n.case_id == theirs]
    assert await w.mark_read(store.pool, LEAD, theirs_ids) == 0  # another unit's notice is not ours to mark
    assert await w.unread(store.pool, OTHER) == 2
    first = notices[0].notification_id
    assert await w.mark_read(store.pool, LEAD, [first]) == 1
    after = await w.inbox(store.pool, LEAD, 10)
    assert after[-1].notification_id == first and after[-1].read_at is not None  # read ones sink to the end
    assert await w.mark_read(store.pool, LEAD, None) == len(notices) - 1
    assert await w.unread(store.pool, LEAD) == 0


async def test_a_draft_goes_back_to_its_author_once(store: EventStore) -> None:
    await w.save_draft(store.pool, "d-1", "li.na", "case-1", "dispute", {"reason": "不属本街道"})
    assert await w.take_draft(store.pool, "d-1", "wang.fang", "case-1") is None  # someone else signed in
    assert await w.take_draft(store.pool, "d-1", "li.na", "case-2") is None
    assert await w.take_draft(store.pool, "d-1", "li.na", "case-1") == ("dispute", {"reason": "不属本街道"})
    assert await w.take_draft(store.pool, "d-1", "li.na", "case-1") is None
    await w.save_draft(store.pool, "d-2", "li.na", "case-1", "dispute", {"reason": "旧的"})
    await store.pool.execute("UPDATE web_drafts SET created_at = created_at - interval '2 days'")
    assert await w.take_draft(store.pool, "d-2", "li.na", "case-1") is None  # too old
