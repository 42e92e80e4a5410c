"""Temporal Schedules the system keeps: created at start-up if missing, left alone if present."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from rectify.workflows.checkpoint_workflow import CHECKPOINT_WORKFLOW_ID, CheckpointWorkflow

CHECKPOINT_SCHEDULE_ID = "rectify-checkpoint"
log = structlog.get_logger("rectify.schedules")


async def ensure_checkpoint_schedule(client: Client, task_queue: str, every: timedelta) -> bool:
    """Checkpoints every `every`; False when the server has no Schedules (the time-skipping test server)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(CheckpointWorkflow.run, id=CHECKPOINT_WORKFLOW_ID, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
    )
    try:
        await client.create_schedule(CHECKPOINT_SCHEDULE_ID, schedule)
        log.info("schedule.created", schedule=CHECKPOINT_SCHEDULE_ID, every=str(every))
    except ScheduleAlreadyRunningError:
        pass
    except RPCError as error:
        if error.status is RPCStatusCode.UNIMPLEMENTED:
            return False
        raise
    return True
