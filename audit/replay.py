"""Replay recorded workflow histories against today's workflow code: a change that would break running
cases (non-determinism) shows up here, before it is deployed.

Histories come from Temporal (one case, or every case workflow) or from exported JSON files, such
as the corpus in tests/histories/ that CI replays on every change.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from rectify.workflows.converter import data_converter
from rectify.workflows.models import workflow_id_for
from rectify.workflows.registry import WORKFLOWS

Histories = Iterable[WorkflowHistory] | AsyncIterator[WorkflowHistory]


@dataclass(frozen=True)
class ReplayOutcome:
    name: str
    run_id: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def load_histories(folder: Path) -> list[WorkflowHistory]:
    """Every `*.json` history in `folder`; the file name (without .json) stands for the workflow id."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no *.json workflow histories in {folder}")
    return [WorkflowHistory.from_json(f.stem, f.read_text(encoding="utf-8")) for f in files]


async def fetch_runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow id still held by Temporal, first run first (following continue-as-new back)."""
    runs: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.insert(0, history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return runs


async def case_runs(client: Client, case_id: str) -> list[WorkflowHistory]:
    """Every run of a case's workflow still held by Temporal."""
    return await fetch_runs(client, workflow_id_for(case_id))


async def fetch_all(client: Client, query: str = "WorkflowType = 'CaseWorkflow'") -> AsyncIterator[WorkflowHistory]:
    async for history in client.list_workflows(query).map_histories():
        yield history


async def replay(histories: Histories, workflows: Sequence[type] = WORKFLOWS) -> list[ReplayOutcome]:
    """Replay each history; an outcome per history, with the non-determinism (or other failure) when it fails."""
    replayer = Replayer(workflows=list(workflows), data_converter=data_converter)
    outcomes = []
    async with replayer.workflow_replay_iterator(_aiter(histories)) as results:
        async for result in results:
            failure = result.replay_failure
            error = f"{type(failure).__name__}: {failure}" if failure else None
            outcomes.append(ReplayOutcome(result.history.workflow_id, result.history.run_id, error))
    return outcomes


async def _aiter(histories: Histories) -> AsyncIterator[WorkflowHistory]:
    if isinstance(histories, AsyncIterable):
        async for history in histories:
            yield history
    else:
        for history in histories:
            yield history
