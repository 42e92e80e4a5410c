"""BulletinWorkflow: issue the weekly supervision bulletin (督查通报) as a durable step.

A Temporal Schedule starts it on Mondays at 09:00 in the city's zone for the week just ended; the
simulation starts it itself at each simulated Monday 09:00 (the time-skipping server has no Schedules).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import rectify.workflows.calls as calls  # named in full, so passed through (case_workflow.py says why)
    from rectify.activities.interface import ISSUE_BULLETIN, RECORD_CHECKPOINT, Bulletin, BulletinTask, Checkpoint
    from rectify.workflows.models import BulletinRequest


@workflow.defn
class BulletinWorkflow:
    @workflow.run
    async def run(self, request: BulletinRequest) -> Bulletin:
        # A fresh checkpoint first, so the bulletin prints a root that covers everything it reports on.
        await calls.run(RECORD_CHECKPOINT, budget=calls.REPORTING, result_type=Checkpoint)
        # Time zones are computed in the activity: the sandbox keeps ZoneInfo out of workflow code.
        task = BulletinTask(week=request.week, issued_at=workflow.now())
        bulletin: Bulletin = await calls.run(ISSUE_BULLETIN, task, budget=calls.REPORTING, result_type=Bulletin)
        workflow.logger.info("bulletin.issued", extra={"week": bulletin.week, "number": bulletin.number})
        return bulletin
