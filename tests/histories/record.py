"""Record the replay corpus: real case, checkpoint, verify, bulletin and round workflow runs on the time-skipping
server.

    .venv/bin/python -m tests.histories.record

Each scenario's runs are written as `<scenario>[.runN].json` beside this file (or into the folder
given as the first argument). Re-record only on purpose, into a scratch folder, and copy in just the
new paths worth pinning: the point of the corpus is that old histories keep replaying.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

from rectify.audit.replay import fetch_runs
from rectify.client import RectifyClient
from rectify.devstack import TestStack
from rectify.domain.accountability import Outcome
from rectify.domain.points import ItemAnswer
from rectify.domain.rounds import RoundKind
from rectify.domain.types import Actor, Channel, Role
from rectify.workflows.bulletin_workflow import BulletinWorkflow
from rectify.workflows.checkpoint_workflow import CheckpointWorkflow
from rectify.workflows.models import BulletinRequest, PlannerInput, round_workflow_id, workflow_id_for
from rectify.workflows.round_workflow import RoundPlannerWorkflow
from rectify.workflows.verify_workflow import VerifyTask, VerifyWorkflow
from tests.support.scenario import DISPATCHER, INSPECTOR, REPORTER, photo, point_in, unit

HERE = Path(__file__).parent
MONTH = timedelta(days=31)


async def record(out: Path = HERE) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    async with TestStack(bulletin_dir=out / "bulletins") as stack:
        client = stack.client
        city = stack.city
        cases: dict[str, str] = {}

        async def report(name: str, category: str = "street_vending", via: RectifyClient | None = None) -> str:
            ref = await (via or client).report(
                idempotency_key=f"corpus-{name}",
                category=category,
                description="占道经营（回放样本）",
                # Each its own spot: the same category at the same place would join the first open case (duplicates).
                location=point_in(city, "st_guanyinqiao", index=len(cases)),
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
            cases[name] = ref.case_id
            return ref.case_id

        async def fix(case_id: str, lead: str, via: RectifyClient | None = None) -> None:
            c = via or client
            await c.submit(case_id, unit(lead), [photo(case_id)], "已整改")
            await c.verify(case_id, INSPECTOR, True, "核查通过")

        lead = city.router.route("street_vending", point_in(city, "st_guanyinqiao")).lead_unit
        straight = await report("straight")
        await client.claim(straight, unit(lead))
        await fix(straight, lead)
        await client.record_feedback(straight, DISPATCHER, True)

        rework = await report("rework")
        await client.claim(rework, unit(lead))
        await client.submit(rework, unit(lead), [photo("first")], "已清理")
        await client.verify(rework, INSPECTOR, False, "仍有摊点")
        await fix(rework, lead)

        extension = await report("extension")
        await client.claim(extension, unit(lead))
        await client.request_extension(extension, unit(lead), 2, "需协调城管执法")
        await client.decide_extension(extension, DISPATCHER, True, "同意延期")

        suspension = await report("suspension")
        await client.claim(suspension, unit(lead))
        await client.request_suspension(suspension, unit(lead), "现场被围挡施工封闭")
        await client.decide_suspension(suspension, DISPATCHER, True, "同意挂起")

        dispute = await report("dispute")
        other = next(u for u in sorted(city.policy.units) if u.startswith("st_") and u != lead)
        await client.dispute(dispute, unit(lead), "不属于本街道")
        await client.reassign(dispute, DISPATCHER, other, "改派")
        await client.claim(dispute, unit(other))

        rejected = await report("rejected")
        await client.reject(rejected, DISPATCHER, "重复举报")

        ladder = await report("ladder")  # nobody acts: all four rungs, then the unit finally fixes it

        merge_target = await report("merge_target")  # a duplicate is merged into it: both record the merge
        merged = await report("merge")
        await client.merge(merged, DISPATCHER, merge_target)
        await client.claim(merge_target, unit(lead))

        long_lived = RectifyClient(stack.env.client, stack.store, city, stack.task_queue, continue_as_new_after=40)
        continued = await report("continue_as_new", via=long_lived)
        await long_lived.claim(continued, unit(lead))
        for round_ in range(3):
            await long_lived.submit(continued, unit(lead), [photo(f"round {round_}")], "已整改")
            await long_lived.verify(continued, INSPECTOR, False, "未到位")

        rounds = await record_rounds(stack)

        await stack.env.sleep(timedelta(days=14))
        # 四问责 opened a proceeding (a child workflow); its explanation deadline has passed unanswered.
        [proceeding] = await client.proceedings(case_id=ladder)
        reviewer = Actor(unit_id="office_inspection", role=Role.REVIEWER)
        await client.decide_accountability(proceeding.proceeding_id, reviewer, Outcome.PUBLIC_CRITICISM, "逾期未说明")
        await client.resume(suspension, DISPATCHER, "围挡已拆除")
        await client.claim(ladder, unit(lead))
        await fix(ladder, lead)
        await fix(extension, lead)
        await fix(suspension, lead)
        await fix(dispute, other)
        await fix(continued, lead, via=long_lived)
        await fix(merge_target, lead)
        checkpoint_id = "rectify-checkpoint"
        await stack.env.client.execute_workflow(CheckpointWorkflow.run, id=checkpoint_id, task_queue=stack.task_queue)
        verify_id = "rectify-verify"
        await stack.env.client.execute_workflow(
            VerifyWorkflow.run, VerifyTask(full=False), id=verify_id, task_queue=stack.task_queue
        )
        await stack.env.sleep(MONTH)  # past the reopen window: the closed cases' workflows complete

        bulletin_id = "rectify-bulletin-corpus"
        with stack.env.auto_time_skipping_disabled():
            await stack.env.client.execute_workflow(
                BulletinWorkflow.run, BulletinRequest(week=None), id=bulletin_id, task_queue=stack.task_queue
            )
        rounds["round_planner"] = await record_planner(stack)
        cases["accountability"] = proceeding.proceeding_id
        written = []
        for name, case_id in cases.items():
            workflow_id = case_id if case_id.startswith("acc-") else workflow_id_for(case_id)
            runs = await fetch_runs(stack.env.client, workflow_id)
            for n, history in enumerate(runs):
                path = out / (f"{name}.json" if len(runs) == 1 else f"{name}.run{n + 1}.json")
                path.write_text(history.to_json(), encoding="utf-8")
                written.append(path)
        singles = [("checkpoint", checkpoint_id), ("verify", verify_id), ("bulletin", bulletin_id), *rounds.items()]
        for name, workflow_id in singles:
            history = (await fetch_runs(stack.env.client, workflow_id))[-1]
            (out / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
            written.append(out / f"{name}.json")
        return written


async def record_rounds(stack: TestStack) -> dict[str, str]:
    """Rounds (RoundWorkflow): one walked to the end, an item failing and opening a case; one missing its due time,
    climbing the ladder and expiring (over the days slept after this); one whose workflow was lost and
    `rectify recover` started again from the store, then walked. By workflow id, for the caller to fetch."""
    client, env = stack.client, stack.env
    inspector = Actor(unit_id=stack.city.policy.inspection.rounds.inspector_unit, role=Role.INSPECTOR)

    def answers(point_id: str, failing: str | None = None) -> list[ItemAnswer]:
        category = stack.city.policy.inspection.point_categories[stack.city.points[point_id].category]
        return [
            ItemAnswer(item=i.code, passed=False, evidence=(photo(i.code),), note="垃圾桶满溢（回放样本）")
            if i.code == failing
            else ItemAnswer(item=i.code, passed=True)
            for i in category.items
        ]

    async def start(round_id: str, hours: float, *points: str) -> str:
        await client.start_round(
            point_ids=points, actor=DISPATCHER, round_id=round_id, hours=hours, at=await env.get_current_time()
        )
        return round_workflow_id(round_id)

    walked = await start("corpus-walked", 8, "p001", "p002")
    await client.record_point("corpus-walked", "p001", inspector, answers("p001", "bins_ok"))
    await client.record_point("corpus-walked", "p002", inspector, answers("p002"))
    missed = await start("corpus-missed", 1, "p003", "p004")
    await client.record_point("corpus-missed", "p003", inspector, answers("p003"))
    recovered = await start("corpus-recovered", 8, "p005", "p006")
    await client.record_point("corpus-recovered", "p005", inspector, answers("p005"))
    await env.client.get_workflow_handle(recovered).terminate("the cluster lost it (replay corpus)")
    await client.recover(restart_ended=True, now=await env.get_current_time())
    await client.record_point("corpus-recovered", "p006", inspector, answers("p006"))
    return {"round": walked, "round_missed": missed, "round_recovered": recovered}


async def record_planner(stack: TestStack) -> str:
    """A round Schedule's run: the planner starts the day's team rounds (left running: nothing sleeps after this)."""
    planner = "rectify-round-planner-corpus"
    with stack.env.auto_time_skipping_disabled():
        await stack.env.client.execute_workflow(
            RoundPlannerWorkflow.run, PlannerInput(kind=RoundKind.TEAM), id=planner, task_queue=stack.task_queue
        )
    return planner


if __name__ == "__main__":
    paths = asyncio.run(record(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
    print("\n".join(str(p) for p in paths))
    sys.stdout.flush()
    os._exit(0)
