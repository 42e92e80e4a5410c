"""Temporal Schedules the system keeps: created at start-up if missing, left alone if present."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from rectify.domain.round_plans import FIRES_AT
from rectify.domain.rounds import RoundKind
from rectify.workflows.bulletin_workflow import BulletinWorkflow
from rectify.workflows.models import BulletinRequest, PlannerInput
from rectify.workflows.round_workflow import RoundPlannerWorkflow
from rectify.workflows.verify_workflow import VERIFY_WORKFLOW_ID, VerifyTask, VerifyWorkflow

CHECKPOINT_SCHEDULE_ID = "rectify-checkpoint"
FULL_VERIFY_SCHEDULE_ID = "rectify-weekly-verify"
BULLETIN_SCHEDULE_ID = "rectify-weekly-bulletin"
TEAM_ROUNDS_SCHEDULE_ID = "rectify-team-rounds"
DUTY_ROUND_SCHEDULE_ID = "rectify-duty-round"
log = structlog.get_logger("rectify.schedules")


async def ensure_checkpoint_schedule(client: Client, task_queue: str, every: timedelta) -> bool:
    """Every `every`, the incremental verify and a verified checkpoint after it (the first run, with no verified
    checkpoint yet, verifies in full); False when the server has no Schedules (the time-skipping test server)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            VerifyWorkflow.run, VerifyTask(full=False), id=f"{VERIFY_WORKFLOW_ID}-incremental", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
    )
    return await _ensure(client, CHECKPOINT_SCHEDULE_ID, schedule)


async def ensure_full_verify_schedule(client: Client, task_queue: str, timezone: str = "Asia/Shanghai") -> bool:
    """Sundays 03:00 in the city's zone: the full verify (every event, and the read models), which also covers
    what the incremental one leaves to it, and a verified checkpoint after it."""
    sunday_three = ScheduleCalendarSpec(
        day_of_week=[ScheduleRange(0)], hour=[ScheduleRange(3)], minute=[ScheduleRange(0)], second=[ScheduleRange(0)]
    )
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            VerifyWorkflow.run, VerifyTask(full=True), id=f"{VERIFY_WORKFLOW_ID}-full", task_queue=task_queue
        ),
        spec=ScheduleSpec(calendars=[sunday_three], time_zone_name=timezone),
    )
    return await _ensure(client, FULL_VERIFY_SCHEDULE_ID, schedule)


async def ensure_bulletin_schedule(client: Client, task_queue: str, timezone: str = "Asia/Shanghai") -> bool:
    """Mondays 09:00 in the city's zone: the bulletin for the week just ended (一周一讲评)."""
    monday_nine = ScheduleCalendarSpec(
        day_of_week=[ScheduleRange(1)], hour=[ScheduleRange(9)], minute=[ScheduleRange(0)], second=[ScheduleRange(0)]
    )
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            BulletinWorkflow.run, BulletinRequest(), id="rectify-bulletin", task_queue=task_queue
        ),
        spec=ScheduleSpec(calendars=[monday_nine], time_zone_name=timezone),
    )
    return await _ensure(client, BULLETIN_SCHEDULE_ID, schedule)


def round_schedules(task_queue: str, timezone: str = "Asia/Shanghai") -> list[tuple[str, Schedule]]:
    """天天督查: every day at 08:30 in the city's zone, each task group's team round; every Monday at 09:00, the
    round of the week's duty leader (rotating through the leaders); when, from domain/round_plans.py `FIRES_AT`.
    Each run plans its rounds and starts them."""
    made = []
    for schedule_id, kind in ((TEAM_ROUNDS_SCHEDULE_ID, RoundKind.TEAM), (DUTY_ROUND_SCHEDULE_ID, RoundKind.DUTY)):
        at, weekday = FIRES_AT[kind]
        days = [ScheduleRange(0, 6)] if weekday is None else [ScheduleRange((weekday + 1) % 7)]  # Sunday is 0 here
        when = ScheduleCalendarSpec(
            day_of_week=days,
            hour=[ScheduleRange(at.hour)],
            minute=[ScheduleRange(at.minute)],
            second=[ScheduleRange(0)],
        )
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                RoundPlannerWorkflow.run,
                PlannerInput(kind=kind),
                id=f"rectify-round-planner-{kind.value}",
                task_queue=task_queue,
            ),
            spec=ScheduleSpec(calendars=[when], time_zone_name=timezone),
        )
        made.append((schedule_id, schedule))
    return made


async def ensure_round_schedules(client: Client, task_queue: str, timezone: str = "Asia/Shanghai") -> bool:
    """The round Schedules (`round_schedules`), created if missing."""
    return all([await _ensure(client, schedule_id, s) for schedule_id, s in round_schedules(task_queue, timezone)])


async def _ensure(client: Client, schedule_id: str, schedule: Schedule) -> bool:
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule.created", schedule=schedule_id)
    except ScheduleAlreadyRunningError:
        pass
    except RPCError as error:
        if error.status is RPCStatusCode.UNIMPLEMENTED:
            return False
        raise
    return True
