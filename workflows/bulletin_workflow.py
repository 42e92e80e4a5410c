"""BulletinWorkflow: issue the weekly supervision bulletin (督查通报) as a durable step.

A Temporal Schedule starts it on Mondays at 09:00 Asia/Shanghai for the week just ended; the
simulation starts it itself at each simulated Monday 09:00 (the time-skipping server has no Schedules).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from rectify.workflows import calls
from rectify.workflows.checkpoint_workflow import CHECKPOINT_ACTIVITY

with workflow.unsafe.imports_passed_through():
    from rectify.activities.bulletins import Bulletin
    from rectify.domain.checkpoints import Checkpoint
    from rectify.domain.types import Frozen

BULLETIN_ACTIVITY = "rectify.issue_bulletin"


class BulletinRequest(Frozen):
    #: ISO week like 2026-W47; None means the week before the one the workflow runs in.
    week: str | None = None
    timezone: str = "Asia/Shanghai"


class BulletinTask(Frozen):
    """What the activity gets: the week, or the moment to take "the week just ended" from."""

    week: str | None
    issued_at: datetime


@workflow.defn
class BulletinWorkflow:
    @workflow.run
    async def run(self, request: BulletinRequest) -> Bulletin:
        # A fresh checkpoint first, so the bulletin prints a root that covers everything it reports on.
        await calls.run(CHECKPOINT_ACTIVITY, budget=calls.REPORTING, result_type=Checkpoint)
        # Time zones are computed in the activity: the sandbox keeps ZoneInfo out of workflow code.
        task = BulletinTask(week=request.week, issued_at=workflow.now())
        bulletin: Bulletin = await calls.run(BULLETIN_ACTIVITY, task, budget=calls.REPORTING, result_type=Bulletin)
        workflow.logger.info("bulletin.issued", extra={"week": bulletin.week, "number": bulletin.number})
        return bulletin
