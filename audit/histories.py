"""Compare the store with Temporal's own record: every append a case workflow completed must be in the
store unchanged, and a case whose whole history Temporal still has must hold nothing else.

Temporal deletes closed histories after its retention period, so this check covers what remains;
the hash chains and checkpoints cover the rest.
"""

from __future__ import annotations

from temporalio.client import Client

from rectify.audit.checks import CheckResult, Finding, HistoryCheck
from rectify.store import EventStore
from rectify.workflows.history import recorded_appends
from rectify.workflows.models import workflow_id_for

WHAT = "the store's events equal what each case workflow's Temporal history recorded appending"


def history_check(client: Client) -> HistoryCheck:
    async def check(store: EventStore, case_id: str | None) -> CheckResult:
        query = f"WorkflowId = '{workflow_id_for(case_id)}'" if case_id else "WorkflowType = 'CaseWorkflow'"
        recorded: dict[str, dict[int, dict]] = {}
        complete: set[str] = set()
        runs = 0
        async for execution in client.list_workflows(query):
            case = execution.id.removeprefix("case-")
            appended, first = await recorded_appends(client, execution.id, execution.run_id)
            recorded.setdefault(case, {}).update(appended)
            if first:
                complete.add(case)
            runs += 1
        findings: list[Finding] = []
        for case, versions in sorted(recorded.items()):
            stored = {r.version: r.body for r in await store.load_records(case)}
            for version, body in sorted(versions.items()):
                if version not in stored:
                    problem = "the workflow appended this event, but the store lacks it"
                elif stored[version] != body:
                    problem = "the stored event differs from what the workflow appended"
                else:
                    continue
                findings.append(Finding(case_id=case, version=version, problem=problem))
            if case in complete:
                findings += [
                    Finding(case_id=case, version=v, problem="in the store, but the workflow never appended it")
                    for v in sorted(set(stored) - set(versions))
                ]
        skipped = None if runs else "Temporal holds no case histories to compare with (retention, or another server)"
        return CheckResult(
            check="temporal histories", what=WHAT, checked=runs, findings=tuple(findings), skipped=skipped
        )

    return check
