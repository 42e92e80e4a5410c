"""How the pages read the record: Beijing time from the policy, working-time countdowns, deadlines met or missed,
events in Chinese, labels for every status; and the store's keyset pages of cases within a unit's scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR, CaseStatus, Channel
from rectify.store import migrate
from rectify.store.projections import CASE_COLUMNS
from rectify.store.read_models import CaseFilter, case_page, status_counts
from rectify.web import labels, present
from tests.support.given import POLICY, claim, cmd, local, report, submit, verify


def test_every_status_role_channel_and_stage_has_its_chinese_word() -> None:
    from rectify.domain.deadlines import Stage
    from rectify.domain.events import Event
    from rectify.domain.types import Role
    from rectify.web.accounts import StaffRole

    event_types = {member.model_fields["type"].default for member in Event.__args__[0].__args__}  # type: ignore[attr-defined]
    for table, codes in (
        (labels.STATUS, CaseStatus),
        (labels.STATUS_TONE, CaseStatus),
        (labels.CHANNEL, Channel),
        (labels.STAGE, Stage),
        (labels.ACTOR_ROLE, Role),
        (labels.STAFF_ROLE, StaffRole),
    ):
        assert {code.value for code in codes} <= set(table), table
    assert event_types <= set(labels.EVENT)
    assert [labels.STATUS[s] for s in ("reported", "dispatched", "claimed", "submitted", "closed")] == [
        "待派遣",
        "待认领",
        "整改中",
        "待核查",
        "已办结",
    ]
    assert labels.rung(POLICY, 2) == "第2级 曝光" and labels.rung(POLICY, 0) == "未升级"


def test_times_are_shown_in_the_policys_zone() -> None:
    at = datetime(2026, 11, 23, 16, 5, tzinfo=UTC)
    assert present.local(POLICY, at, weekday=True) == "2026-11-24 00:05（周二）"
    elsewhere = POLICY.model_copy(update={"timezone": "Europe/Berlin"})
    assert present.local(elsewhere, at) == "2026-11-23 17:05"


@pytest.mark.parametrize(
    ("now", "due", "natural", "text", "tone"),
    [
        ("2026-11-27 16:00", "2026-11-27 17:30", False, "剩余 1.5 工作小时", "soon"),
        # from Friday 16:00 to Monday 11:00: 1.5 h on Friday, 2.5 h on Monday; the weekend does not count
        ("2026-11-27 16:00", "2026-11-30 11:00", False, "剩余 4.0 工作小时", "ok"),
        ("2026-11-30 09:00", "2026-11-27 17:00", False, "超期 1.0 工作小时", "late"),
        ("2026-11-27 16:00", "2026-11-28 16:00", True, "剩余 24.0 小时", "ok"),
    ],
)
def test_countdowns_run_on_the_working_calendar(now: str, due: str, natural: bool, text: str, tone: str) -> None:
    shown = present.countdown(POLICY, local(due), local(now), natural=natural)
    assert shown is not None and (shown.text, shown.tone) == (text, tone)


def _history(*steps: tuple[c.Command, datetime]) -> list:
    state, events = None, []
    for command, at in steps:
        new = decide(state, command, at, POLICY)
        events += new
        state = fold(new, state)
    return events


def test_each_stage_deadline_is_met_missed_moved_or_running() -> None:
    t = local("2026-11-24 09:00")
    worked = _history(
        (report(), t),
        (claim(), t + timedelta(minutes=30)),
        (submit(), t + timedelta(hours=1)),
        (verify(True), t + timedelta(hours=2)),
    )
    outcome = [(d.stage, d.outcome) for d in present.deadline_episodes(POLICY, worked)]
    assert outcome == [
        ("dispatch", "met"),
        ("claim", "met"),
        ("rectify", "met"),
        ("verify", "met"),
        ("feedback", "running"),
    ]
    late = _history((report(), t), (cmd(c.Tick, SYSTEM_ACTOR), t + timedelta(hours=6)))
    episodes = present.deadline_episodes(POLICY, late)
    assert [(d.stage, d.outcome) for d in episodes] == [("dispatch", "met"), ("claim", "missed"), ("rectify", "missed")]
    state = fold(late)
    upcoming = present.next_rung(POLICY, state)
    assert state.escalation_level >= 1 and upcoming is not None and upcoming.at > state.due_at
    words = [present.describe(POLICY, ev) for ev in late]
    assert "认领时限 2026-11-24 11:00 已过，责任单位甲街道" in words
    assert any(w.startswith("升至第1级 催办，责任单位甲街道") for w in words)


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=2)
    await migrate(pool)
    yield pool
    await pool.close()


async def test_keyset_pages_cover_every_case_once_and_a_scope_always_holds(pool: asyncpg.Pool) -> None:
    start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    rows = []
    for i in range(23):  # pairs opened at the same moment: the case id breaks the tie
        unit = "st_a" if i % 3 else "st_b"
        values = {column: None for column in CASE_COLUMNS} | {
            "case_id": f"case-{i:02d}",
            "status": "claimed" if i % 2 else "dispatched",
            "category": "street_vending",
            "description": "d",
            "channel": "snapshot",
            "lead_unit": unit,
            "escalation_level": 0,
            "opened_at": start + timedelta(minutes=i // 2),
            "rework_count": 0,
            "version": 1,
            "duplicates": 0,
            "suspension_pending": False,
        }
        rows.append(tuple(values[column] for column in CASE_COLUMNS))
    await pool.copy_records_to_table("cases", records=rows, columns=CASE_COLUMNS)
    seen, after = [], None
    while True:
        page = await case_page(pool, CaseFilter(), after, limit=5)
        seen += [r.case_id for r in page.rows]
        if page.next_key is None:
            break
        after = page.next_key
    newest_first = sorted(rows, key=lambda r: (r[CASE_COLUMNS.index("opened_at")], r[0]), reverse=True)
    assert seen == [r[0] for r in newest_first]
    scoped = await case_page(pool, CaseFilter(lead_unit="st_b", scope_unit="st_a"), None, limit=50)
    assert scoped.rows == []  # asking for another unit inside a scope finds nothing
    own = await case_page(pool, CaseFilter(status="claimed", scope_unit="st_a"), None, limit=50)
    assert own.rows and all(r.lead_unit == "st_a" and r.status == "claimed" for r in own.rows)
    assert await status_counts(pool, "st_b") == {"dispatched": 4, "claimed": 4}
