"""The Temporal dev server loses its persistence under live cases: stopped, its database file deleted, started
empty. `rectify recover` starts every case and proceeding the store holds open from its folded state: each
takes its next command, each rung fires once (one whose moment passed while nothing ran fires once, after the
recovery), a top rung whose proceeding never opened gets one, and `audit verify` passes. Open rounds take their
next point, the round Schedules are there again, and the team rounds of the day's firing, which the cluster lost
(yesterday's are in the store), are started as the planner starts them. A second recovery starts nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.client import CommandRejected, RectifyClient, connect_temporal, register_search_attributes
from rectify.client.recover import Kind, Outcome
from rectify.config import Settings
from rectify.devstack import EmbeddedPostgres, TemporalDevServer
from rectify.domain.accountability import proceeding_id_for
from rectify.domain.commands import Tick
from rectify.domain.decider import decide
from rectify.domain.points import ItemAnswer
from rectify.domain.policy import Policy, StageLimits
from rectify.domain.round_plans import firings, plan_rounds
from rectify.domain.rounds import RoundKind, round_id_of
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR, Actor, Channel, Role
from rectify.store import EventStore, migrate
from rectify.worker import build_worker
from rectify.workflows.models import RoundInput, round_workflow_id
from rectify.workflows.round_workflow import RoundWorkflow
from rectify.workflows.schedules import DUTY_ROUND_SCHEDULE_ID, TEAM_ROUNDS_SCHEDULE_ID
from tests.support.faults import assert_audit_verifies
from tests.support.scenario import DISPATCHER, INSPECTOR, REPORTER, SECOND, photo, point_in, round_the_clock, unit

LADDER = "street_vending"  # 4 s to rectify; rungs 4, 6, 8 and 10 s after the report
CALM = "litter_junk"  # an hour for every stage: nothing falls due during the test
TOP = 4


def seconds_policy(policy: Policy) -> Policy:
    base = round_the_clock(policy)
    categories = {
        code: c.model_copy(update={"rectify_limit_hours": 4 * SECOND if code == LADDER else 1.0})
        for code, c in base.categories.items()
    }
    stages = StageLimits(dispatch_hours=1.0, claim_hours=1.0, verify_hours=1.0, feedback_hours=1.0)
    # Rounds still due whenever the test runs: a team round of yesterday's firing, a duty round of last Monday's.
    rounds = base.inspection.rounds.model_copy(update={"team_round_hours": 48.0, "duty_round_hours": 24.0 * 8})
    inspection = base.inspection.model_copy(update={"rounds": rounds})
    return base.model_copy(update={"categories": categories, "stages": stages, "inspection": inspection})


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    give_up = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < give_up, f"not seen within {timeout:.0f} s: {what}"
        await asyncio.sleep(0.2)


async def test_recover_after_the_cluster_lost_its_persistence(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    store = await EventStore.connect(await pg.create_database(f"recover_{uuid.uuid4().hex[:8]}"))
    await migrate(store.pool)
    db_file = tmp_path / "temporal.db"
    server = TemporalDevServer(db_file).start()
    try:
        temporal = await connect_temporal(Settings(temporal_address=server.address), patience=30)
        await register_search_attributes(temporal)
        city = load_city(DEFAULT_CITY_DIR)
        city = replace(city, policy=seconds_policy(city.policy))
        client = RectifyClient(temporal, store, city, "recover-queue")

        async def report(key: str, category: str, street: str) -> str:
            ref = await client.report(
                idempotency_key=f"recover-{key}",
                category=category,
                description="待整改",
                location=point_in(city, street),
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
            return ref.case_id

        async def rungs(case_id: str) -> list[tuple[int, str]]:
            """(level, id of the proceeding it opens) for each rung recorded, in order."""
            events = await store.load(case_id)
            return [(e.level, proceeding_id_for(case_id, e.version)) for e in events if e.type == "escalation_raised"]

        async def level(case_id: str) -> int:
            return max((lv for lv, _ in await rungs(case_id)), default=0)

        async def proceeding(case_id: str) -> str | None:
            """The case's proceeding once its opening is in the store."""
            tops = [p for lv, p in await rungs(case_id) if lv == TOP]
            return tops[0] if tops and await store.head(tops[0]) is not None else None

        async def lead(case_id: str) -> object:
            return unit((await store.get_case(case_id)).lead_unit)

        inspector = Actor(unit_id=city.policy.inspection.rounds.inspector_unit, role=Role.INSPECTOR)

        def passing(point_id: str) -> list[ItemAnswer]:
            category = city.policy.inspection.point_categories[city.points[point_id].category]
            return [ItemAnswer(item=item.code, passed=True) for item in category.items]

        async with build_worker(temporal, store, "recover-queue", city=city, open_case=client.open_failure_case):
            # Rounds: one by hand, half walked; yesterday's team round of a task group, as its Schedule started it.
            # The moment recovery judges from is taken now, so today's firing is the one these rounds precede.
            judged_at = datetime.now(UTC)
            spot_points = sorted(city.points)[:2]
            spot = (await client.start_round(point_ids=spot_points, actor=DISPATCHER, hours=48)).round_id
            await client.record_point(spot, spot_points[0], inspector, passing(spot_points[0]))
            latest, before = firings(RoundKind.TEAM, judged_at, city.policy.timezone)
            yesterday = plan_rounds(RoundKind.TEAM, city.points.values(), city.policy, before)[0]
            await temporal.start_workflow(
                RoundWorkflow.run,
                RoundInput(policy=city.policy, plan=yesterday),
                id=round_workflow_id(yesterday.case_id),
                task_queue="recover-queue",
            )
            await until("yesterday's round planned", lambda: _is_set(store.head(yesterday.case_id)))
            todays = {p.case_id for p in plan_rounds(RoundKind.TEAM, city.points.values(), city.policy, latest)}

            a = await report("a", CALM, "st_guanyinqiao")  # stays dispatched
            b = await report("b", CALM, "st_huaxinjie")  # claimed
            c = await report("c", CALM, "st_wulidian")  # submitted
            e = await report("e", CALM, "st_jiangbeicheng")  # closed, within its reopen window
            f = await report("f", CALM, "st_shimahe")  # withdrawn: nothing more can happen to it
            for case in (b, c, e):
                await client.claim(case, await lead(case))
            for case in (c, e):
                await client.submit(case, await lead(case), [photo()], "已整改")
            await client.verify(e, INSPECTOR, True)
            await client.withdraw(f, REPORTER, "误报")
            d1 = await report("d1", LADDER, "st_dashiba")  # reaches 问责 and opens its proceeding before the loss
            await until("d1's proceeding opened", lambda: _is_set(proceeding(d1)))
            d2 = await report("d2", LADDER, "st_cuntan")  # on the ladder when the cluster is lost
            d3 = await report("d3", LADDER, "st_tieshanping")  # its top rung recorded, its proceeding never opened
            reported = time.monotonic()
            await until("d2's first rung", lambda: _at_least(level(d2), 1))
            server.stop()
            for file in tmp_path.glob("temporal.db*"):
                file.unlink()  # the cluster's persistence is gone
            assert await level(d2) < TOP, "d2 climbed the whole ladder before the loss; nothing would be left to test"
            await asyncio.sleep(max(0.0, 11 - (time.monotonic() - reported)))  # d2's and d3's rungs all fall due
            # d3: what its workflow had appended a moment before the loss, up to the top rung, before its task
            # could start the proceeding.
            before = fold(await store.load(d3))
            tick = Tick(command_id=str(uuid.uuid4()), case_id=d3, actor=SYSTEM_ACTOR)
            raised = decide(before, tick, datetime.now(UTC), city.policy)
            await store.append(d3, before.version, raised, fold(raised, before))
            await store.deliver_outbox(d3)
            assert await level(d3) == TOP and await proceeding(d3) is None
            server.start()  # same port, an empty database
            temporal_back = datetime.now(UTC)
            before_recovery = {case: await level(case) for case in (d1, d2, d3)}

            recovery = await client.recover(now=judged_at)
            started = {(i.kind, i.id) for i in recovery.items if i.outcome is Outcome.STARTED}
            assert recovery.ok, recovery.as_dict()["failed"]
            assert {i for k, i in started if k is Kind.CASE} == {a, b, c, d1, d2, d3, e}
            assert f not in {i.id for i in recovery.items}  # withdrawn: not even looked at
            assert (Kind.PROCEEDING, await proceeding(d1)) in started  # carried: still waiting for the explanation
            [d3_proceeding] = [p for lv, p in await rungs(d3) if lv == TOP]
            assert (Kind.REFERRAL, d3_proceeding) in started  # the top rung's proceeding, opened by the recovery
            assert {i for k, i in started if k is Kind.ROUND} == {spot, round_id_of(yesterday.case_id)}
            assert {i for k, i in started if k is Kind.SCHEDULE} == {TEAM_ROUNDS_SCHEDULE_ID, DUTY_ROUND_SCHEDULE_ID}
            for schedule_id in (TEAM_ROUNDS_SCHEDULE_ID, DUTY_ROUND_SCHEDULE_ID):
                await temporal.get_schedule_handle(schedule_id).describe()
            # Today's firing was lost (yesterday's is in the store): its team rounds; no duty round ran here before.
            assert {i for k, i in started if k is Kind.PLAN} == todays
            for stream in todays:
                await until(f"{stream} planned", lambda stream=stream: _is_set(store.head(stream)))

            await until("d2 climbed to the top again after the recovery", lambda: _at_least(level(d2), TOP))
            await until("d2's proceeding opened", lambda: _is_set(proceeding(d2)))
            await until("d3's proceeding opened", lambda: _is_set(proceeding(d3)))
            again = await client.recover(now=judged_at)
            assert [i for i in again.items if i.outcome is Outcome.STARTED] == []  # idempotent
            assert again.ok and again.count(Kind.CASE, Outcome.RUNNING) == 7
            assert again.count(Kind.ROUND, Outcome.RUNNING) == 2 + len(todays)
            assert again.count(Kind.SCHEDULE, Outcome.RUNNING) == 2

            # The open round takes its next point and completes.
            walked = await client.record_point(spot, spot_points[1], inspector, passing(spot_points[1]))
            assert walked.state.status == "completed"
            assert (await client.round(round_id_of(yesterday.case_id))).status == "open"

            # Every open case takes its next command.
            await client.claim(a, await lead(a))
            await client.submit(b, await lead(b), [photo()], "已整改")
            assert (await client.verify(c, INSPECTOR, True)).state.status == "closed"
            assert (await client.record_feedback(e, DISPATCHER, True)).state.satisfied is True
            await client.claim(d2, await lead(d2))
            for case in (d1, d2, d3):
                explained = await client.explain(await proceeding(case), await lead(case), "人手不足，已增派力量")
                assert explained.state.status == "explained"
            with pytest.raises(CommandRejected) as refused:
                await client.claim(f, await lead(f))
            assert refused.value.rule == "case_ended"
            await asyncio.sleep(2)  # nothing fires twice afterwards

        for case in (a, b, c, d1, d2, d3, e, f):
            events = await store.load(case)
            assert [v.version for v in events] == list(range(1, len(events) + 1))
            climbed = [lv for lv, _ in await rungs(case)]
            assert climbed == ([1, 2, 3, 4] if case in (d1, d2, d3) else []), (case, climbed)  # each rung once
            missed = [v.stage for v in events if v.type == "deadline_missed"]
            assert len(missed) == len(set(missed)), (case, missed)
        assert before_recovery[d1] == TOP and before_recovery[d3] == TOP and before_recovery[d2] < TOP
        late = [v for v in await store.load(d2) if v.type == "escalation_raised" and v.level > before_recovery[d2]]
        assert late and all(v.due_at < temporal_back for v in late)  # fell due while nothing ran …
        assert all(v.occurred_at > temporal_back for v in late)  # … and fired once, after the recovery
        assert [v.level for v in late] == list(range(before_recovery[d2] + 1, TOP + 1))
        for case in (d1, d2, d3):  # one proceeding per top rung, opened once
            opened = [v for v in await store.load(await proceeding(case)) if v.type == "proceeding_opened"]
            assert len(opened) == 1
        await assert_audit_verifies(store, temporal, cases=7)
    finally:
        server.stop()
        await store.close()


async def _is_set(value: Awaitable[object]) -> bool:
    return await value is not None


async def _at_least(value: Awaitable[int], least: int) -> bool:
    return await value >= least
