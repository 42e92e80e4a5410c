"""The replay corpus: histories recorded from real runs must keep replaying on today's workflow code."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio import workflow

# This module defines workflows, so the sandbox imports it afresh for each of their runs: what it imports besides
# the workflows themselves is passed through, as in the workflow modules (workflows/case_workflow.py).
with workflow.unsafe.imports_passed_through():
    from rectify.audit.replay import WORKFLOWS, load_histories, replay
    from rectify.workflows.models import CaseOutcome, CaseWorkflowInput, RoundInput
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.checkpoint_workflow import CheckpointWorkflow
from rectify.workflows.round_workflow import RoundWorkflow

CORPUS = Path(__file__).parent
#: The paths the corpus must keep covering (see tests/histories/record.py).
SCENARIOS = {
    "straight",
    "rework",
    "extension",
    "suspension",
    "dispute",
    "rejected",
    "ladder",
    "continue_as_new",
    "checkpoint",
    "verify",
    "accountability",
    "bulletin",
    "merge",
    "merge_target",
    "upsert_changed",
    "round",
    "round_missed",
    "round_recovered",
    "round_planner",
}
#: The RoundWorkflow histories (a round walked, one missed and expired, one started again by `rectify recover`).
ROUNDS = {"round", "round_missed", "round_recovered"}


async def test_every_recorded_history_replays_on_todays_workflow_code() -> None:
    histories = load_histories(CORPUS)
    assert {h.workflow_id.split(".")[0] for h in histories} == SCENARIOS
    outcomes = await replay(histories)
    assert [o for o in outcomes if not o.ok] == []
    assert len(outcomes) == len(histories) >= 20


@workflow.defn(name="CaseWorkflow")
class CaseWorkflowWithAnUnpatchedChange(CaseWorkflow):
    """What a careless edit looks like: a new timer before every append, not behind `workflow.patched`."""

    @workflow.run
    async def run(self, input: CaseWorkflowInput) -> CaseOutcome:
        return await super().run(input)

    async def _execute(self, command):  # type: ignore[no-untyped-def]
        await workflow.sleep(timedelta(seconds=1))
        return await super()._execute(command)


@workflow.defn(name="CaseWorkflow")
class CaseWorkflowWithAPatchedChange(CaseWorkflowWithAnUnpatchedChange):
    """The same change done safely: old histories take the old path."""

    @workflow.run
    async def run(self, input: CaseWorkflowInput) -> CaseOutcome:
        return await super().run(input)

    async def _execute(self, command):  # type: ignore[no-untyped-def]
        if workflow.patched("pause-before-append"):
            await workflow.sleep(timedelta(seconds=1))
        return await CaseWorkflow._execute(self, command)


async def test_an_unpatched_change_to_the_workflow_fails_replay_and_names_the_cases() -> None:
    others = [w for w in WORKFLOWS if w is not CaseWorkflow]
    outcomes = await replay(load_histories(CORPUS), workflows=[CaseWorkflowWithAnUnpatchedChange, *others])
    failed = {o.name.split(".")[0] for o in outcomes if not o.ok}
    assert failed == SCENARIOS - {"checkpoint", "verify", "accountability", "bulletin", "round_planner"} - ROUNDS
    assert all("Nondeterminism" in o.error or "nondeterminism" in o.error.lower() for o in outcomes if not o.ok)


async def test_the_same_change_behind_workflow_patched_replays() -> None:
    others = [w for w in WORKFLOWS if w is not CaseWorkflow]
    outcomes = await replay(load_histories(CORPUS), workflows=[CaseWorkflowWithAPatchedChange, *others])
    assert [o for o in outcomes if not o.ok] == []
    assert CaseWorkflow in WORKFLOWS and CheckpointWorkflow in WORKFLOWS


@workflow.defn(name="RoundWorkflow")
class RoundWorkflowWithAnUnpatchedChange(RoundWorkflow):
    """The careless edit on a round: a new timer before it starts, not behind `workflow.patched`."""

    @workflow.run
    async def run(self, input: RoundInput) -> object:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(input)


async def test_the_round_histories_catch_an_unpatched_change_to_the_round_workflow() -> None:
    others = [w for w in WORKFLOWS if w is not RoundWorkflow]
    outcomes = await replay(load_histories(CORPUS), workflows=[RoundWorkflowWithAnUnpatchedChange, *others])
    assert {o.name.split(".")[0] for o in outcomes if not o.ok} == ROUNDS
