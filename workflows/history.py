"""What a CaseWorkflow's Temporal history says it appended: read by the audit to compare with the store.

Not workflow code (it fetches and decodes histories); it lives here because it knows how the case workflow
records its appends.
"""

from __future__ import annotations

import json

from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import Client
from temporalio.converter import DataConverter

from rectify.activities.interface import APPEND_EVENTS, AppendOutcome
from rectify.domain.events import event_body
from rectify.workflows.models import CaseWorkflowInput

#: The marker the SDK's core records for a completed local activity, with its result.
LOCAL_ACTIVITY_MARKER = "core_local_activity"


async def recorded_appends(client: Client, workflow_id: str, run_id: str) -> tuple[dict[int, dict], bool]:
    """(version -> event body) for every append this run completed, and whether the run began with the report.

    The case workflow appends through a local activity, whose outcome (the events as stored) is in its marker."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    converter = client.data_converter
    appended: dict[int, dict] = {}
    first = False
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [start] = await converter.decode(payloads, [CaseWorkflowInput])
            first = start.report is not None
        elif event.HasField("marker_recorded_event_attributes"):
            outcome = await _local_append(converter, event.marker_recorded_event_attributes)
            if outcome is not None:
                appended |= {e.version: event_body(e) for e in outcome.stored}
    return appended, first


async def _local_append(converter: DataConverter, marker: MarkerRecordedEventAttributes) -> AppendOutcome | None:
    """The outcome of a completed local append activity, from its marker; None for any other marker."""
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "result" not in marker.details:
        return None
    data = json.loads(marker.details["data"].payloads[0].data)
    if data.get("activity_type") != APPEND_EVENTS:
        return None
    [outcome] = await converter.decode(marker.details["result"].payloads, [AppendOutcome])
    return outcome
