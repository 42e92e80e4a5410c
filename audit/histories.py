"""Compare the store with Temporal's own record: every append a case workflow completed must be in the
store unchanged, and a case whose whole history Temporal still has must hold nothing else.

Temporal deletes closed histories after its retention period, so this check covers what remains;
the hash chains and checkpoints cover the rest.
"""

from __future__ import annotations

import json

from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import Client
from temporalio.converter import DataConverter

from rectify.audit.verify import CheckResult, Finding, HistoryCheck
from rectify.domain.events import event_body
from rectify.store import EventStore
from rectify.workflows.case_workflow import APPEND_ACTIVITY
from rectify.workflows.models import AppendEvents, AppendOutcome, CaseWorkflowInput, workflow_id_for

#: The marker the SDK's core records for a completed local activity, with its result.
LOCAL_ACTIVITY_MARKER = "core_local_activity"

WHAT = "the store's events equal what each case workflow's Temporal history recorded appending"


async def recorded_appends(client: Client, workflow_id: str, run_id: str) -> tuple[dict[int, dict], bool]:
    """(version -> event body) for every append this run completed, and whether the run began with the report."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    converter = client.data_converter
    scheduled: dict[int, AppendEvents] = {}
    appended: dict[int, dict] = {}
    first = False
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [start] = await converter.decode(payloads, [CaseWorkflowInput])
            first = start.report is not None
        elif event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == APPEND_ACTIVITY:
                [request] = await converter.decode(attrs.input.payloads, [AppendEvents])
                scheduled[event.event_id] = request
        elif event.HasField("activity_task_completed_event_attributes"):
            request = scheduled.get(event.activity_task_completed_event_attributes.scheduled_event_id)
            if request is not None:
                appended |= {e.version: event_body(e) for e in request.events}
        elif event.HasField("marker_recorded_event_attributes"):  # a local append (LOCAL_APPEND_PATCH)
            outcome = await _local_append(converter, event.marker_recorded_event_attributes)
            if outcome is not None and outcome.stored:
                appended |= {e.version: event_body(e) for e in outcome.stored}
    return appended, first


async def _local_append(converter: DataConverter, marker: MarkerRecordedEventAttributes) -> AppendOutcome | None:
    """The outcome of a completed local append activity, from its marker; None for any other marker."""
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "result" not in marker.details:
        return None
    data = json.loads(marker.details["data"].payloads[0].data)
    if data.get("activity_type") != APPEND_ACTIVITY:
        return None
    [outcome] = await converter.decode(marker.details["result"].payloads, [AppendOutcome])
    return outcome


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
        return CheckResult(check="temporal histories", what=WHAT, checked=runs, findings=findings, skipped=skipped)

    return check
