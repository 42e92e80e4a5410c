"""Hostile strings through the text field of every command, via the SDK, against a real stack.

Each must end in a clean rejection (CommandRejected naming a domain rule, nothing written) or a stored case
whose record holds the text as sent and which still takes the next command. A few examples in `make test`;
`make fuzz` (`pytest -m fuzz`) runs many more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rectify.client import CommandRejected, RectifyClient
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.accountability import Outcome
from rectify.domain.errors import ERRORS_BY_RULE
from rectify.domain.types import Actor, Channel, Role
from tests.support.scenario import DISPATCHER, INSPECTOR, REPORTER, photo, point_in, unit

REVIEWER = Actor(unit_id="office_inspection", role=Role.REVIEWER)
NASTY = [
    "\x00",
    "坏\x00数据",
    "\ud800",
    "x\udfffy",
    "\u202e反向\u202c",
    "\u200fمرحبا\u200e",
    "🚧🙂‍↔️👨‍👩‍👧",
    "e" + "\u0301" * 60,
    "'; DROP TABLE events; --",
    "<script>alert(1)</script>",
    "{{7*7}}${7*7}",
    "%00%0a",
    "\r\n\t",
    " ",
    "",
    "\x1b[31m",
    "\ufeff\ufffe\uffff",
    "\U0010ffff",
    "null",
    "\\u0000",
]
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),  # surrogates and controls included
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=20)),
    st.builds(
        lambda piece, n: piece * n, st.sampled_from(["长", "a", "🚧", "\u0301"]), st.sampled_from([501, 2001, 100_000])
    ),
)
FIELDS = [
    "report.description",
    "report.address",
    "report.media_url",
    "dispute.reason",
    "extend.reason",
    "suspend.reason",
    "reject.reason",
    "withdraw.reason",
    "reassign.reason",
    "uphold.reason",
    "decide_extension.reason",
    "decide_suspension.reason",
    "resume.reason",
    "reopen.reason",
    "submit.note",
    "verify.note",
    "feedback.note",
    "explain.text",
    "decide_accountability.reason",
]
_keys = count()
#: A clean rejection names a domain rule, or says the case has ended; never "failed" or "unstorable".
CLEAN = frozenset(ERRORS_BY_RULE) | {"case_ended"}


class Cases:
    """Valid cases in the status each command needs, made through the same SDK."""

    def __init__(self, stack: TestStack) -> None:
        self.stack, self.client = stack, stack.client
        self.spot = point_in(stack.city, "st_guanyinqiao")
        self.proceedings: list[tuple[str, Actor]] = []
        #: The case (or proceeding) the last command went to, once its setup succeeded.
        self.last: str | None = None

    async def report(self, **text: str) -> str:
        fields = {"description": "流动摊贩占道经营"} | text
        key = f"hostile-{next(_keys)}"
        ref = await self.client.report(
            idempotency_key=key,
            category="street_vending",
            location=self.spot,
            channel=Channel.HOTLINE,
            actor=REPORTER,
            **fields,
        )
        self.lead = unit(ref.lead_unit)
        return ref.case_id

    async def dispatched(self) -> str:
        return await self.report()

    async def claimed(self) -> str:
        case_id = await self.report()
        await self.client.claim(case_id, self.lead)
        return case_id

    async def submitted(self) -> str:
        case_id = await self.claimed()
        await self.client.submit(case_id, self.lead, [photo()], "已整改")
        return case_id

    async def closed(self) -> str:
        case_id = await self.submitted()
        await self.client.verify(case_id, INSPECTOR, True, "核查通过")
        return case_id

    async def disputed(self) -> str:
        case_id = await self.report()
        await self.client.dispute(case_id, self.lead, "不属于本单位")
        return case_id

    async def extension_asked(self) -> str:
        case_id = await self.report()
        await self.client.request_extension(case_id, self.lead, 1, "需要审批")
        return case_id

    async def suspension_asked(self) -> str:
        case_id = await self.report()
        await self.client.request_suspension(case_id, self.lead, "现场封闭")
        return case_id

    async def suspended(self) -> str:
        case_id = await self.suspension_asked()
        await self.client.decide_suspension(case_id, DISPATCHER, True, "同意")
        return case_id

    async def referred(self) -> str:
        """A proceeding waiting for its explanation; they come in batches, as the ladder takes twelve days."""
        if not self.proceedings:
            reported = [(await self.report(), self.lead) for _ in range(5)]
            await self.stack.env.sleep(timedelta(days=12))
            for case_id, lead in reported:
                [row] = await self.client.proceedings(case_id=case_id)
                self.proceedings.append((row.proceeding_id, lead))
        proceeding_id, self.lead = self.proceedings.pop()
        return proceeding_id

    async def explained(self) -> str:
        proceeding_id = await self.referred()
        await self.client.explain(proceeding_id, self.lead, "人手不足")
        return proceeding_id


def commands(cases: Cases, client: RectifyClient) -> dict[str, Callable[[str], Awaitable[str]]]:
    """field -> issue the command with `text` in that field; returns the case (or proceeding) it went to."""

    async def on(setup: Callable[[], Awaitable[str]], act: Callable[[str], Awaitable[object]]) -> str:
        case_id = await setup()
        try:
            await act(case_id)
        finally:
            cases.last = case_id
        return case_id

    other = "st_huaxinjie"
    return {
        "report.description": lambda t: cases.report(description=t),
        "report.address": lambda t: cases.report(address=t),
        "report.media_url": lambda t: cases.report(media_url=t),
        "dispute.reason": lambda t: on(cases.dispatched, lambda c: client.dispute(c, cases.lead, t)),
        "extend.reason": lambda t: on(cases.dispatched, lambda c: client.request_extension(c, cases.lead, 1, t)),
        "suspend.reason": lambda t: on(cases.dispatched, lambda c: client.request_suspension(c, cases.lead, t)),
        "reject.reason": lambda t: on(cases.dispatched, lambda c: client.reject(c, DISPATCHER, t)),
        "withdraw.reason": lambda t: on(cases.dispatched, lambda c: client.withdraw(c, REPORTER, t)),
        "reassign.reason": lambda t: on(cases.disputed, lambda c: client.reassign(c, DISPATCHER, other, t)),
        "uphold.reason": lambda t: on(cases.disputed, lambda c: client.uphold(c, DISPATCHER, t)),
        "decide_extension.reason": lambda t: on(
            cases.extension_asked, lambda c: client.decide_extension(c, DISPATCHER, True, t)
        ),
        "decide_suspension.reason": lambda t: on(
            cases.suspension_asked, lambda c: client.decide_suspension(c, DISPATCHER, True, t)
        ),
        "resume.reason": lambda t: on(cases.suspended, lambda c: client.resume(c, DISPATCHER, t)),
        "reopen.reason": lambda t: on(cases.closed, lambda c: client.reopen(c, REPORTER, t)),
        "submit.note": lambda t: on(cases.claimed, lambda c: client.submit(c, cases.lead, [photo()], t)),
        "verify.note": lambda t: on(cases.submitted, lambda c: client.verify(c, INSPECTOR, True, t)),
        "feedback.note": lambda t: on(cases.closed, lambda c: client.record_feedback(c, DISPATCHER, True, t)),
        "explain.text": lambda t: on(cases.referred, lambda p: client.explain(p, cases.lead, t)),
        "decide_accountability.reason": lambda t: on(
            cases.explained, lambda p: client.decide_accountability(p, REVIEWER, Outcome.INTERVIEW, t)
        ),
    }


@pytest.fixture(scope="module")
async def cases(pg: EmbeddedPostgres) -> AsyncIterator[Cases]:
    async with TestStack(pg=pg) as stack:
        yield Cases(stack)


async def through(cases: Cases, field: str, text: str) -> None:
    client = cases.client
    cases.last = None
    try:
        stream = await commands(cases, client)[field](text)
    except CommandRejected as refused:
        assert refused.rule in CLEAN, (field, refused.rule, str(refused))
        if cases.last is not None:
            await still_takes_commands(cases, cases.last)
        return
    stored = [e for e in await client.store.load(stream)]
    wanted = text.strip() if field == "report.description" else text
    assert wanted in {getattr(e, field.split(".")[1], None) for e in stored}, (field, "the text is not as sent")
    await still_takes_commands(cases, stream)


async def still_takes_commands(cases: Cases, stream: str) -> None:
    """The workflow answers the next command (accepted, or refused by a rule) and agrees with the store."""
    client = cases.client
    if stream.startswith("acc-"):
        try:
            await client.explain(stream, cases.lead, "补充说明")
        except CommandRejected as refused:
            assert refused.rule in CLEAN, (refused.rule, str(refused))
        state, events = await client.proceeding(stream)
        assert state.version == len(events)
        return
    try:
        await client.claim(stream, cases.lead)
    except CommandRejected as refused:
        assert refused.rule in CLEAN, (refused.rule, str(refused))
    view = await client.get(stream)
    stored = await client.store.load(stream)
    assert view.row is not None and view.row.version == len(stored)
    if view.live:
        assert view.state.version == len(stored)


#: Against a real stack: no deadline, a module-wide fixture, and no example database left in the worktree.
RUN = settings(
    deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@settings(RUN, max_examples=6, derandomize=True)
@given(field=st.sampled_from(FIELDS), text=HOSTILE)
@example(field="dispute.reason", text="坏\x00数据")
@example(field="report.description", text="bad\x00text")
@example(field="report.address", text="x\ud800y")
@example(field="explain.text", text="长" * 100_000)
@example(field="submit.note", text="\u202e🚧<script>'; DROP TABLE events; --")
async def test_hostile_text_ends_in_a_clean_rejection_or_a_case_that_goes_on(cases: Cases, field: str, text: str):
    await through(cases, field, text)


@pytest.mark.fuzz
@settings(RUN, max_examples=300)
@given(field=st.sampled_from(FIELDS), text=HOSTILE)
async def test_hostile_text_fuzz(cases: Cases, field: str, text: str) -> None:
    await through(cases, field, text)
