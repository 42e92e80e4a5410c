"""VerifyWorkflow: verify the store and chain a verified checkpoint, as a durable scheduled step.

Started by two Temporal Schedules (workflows/schedules.py): hourly, the incremental verify (what the latest
verified checkpoint does not prove already); weekly, the full verify. Discrepancies fail the run, so they show in
Temporal as a failed workflow and in the logs, and no checkpoint is recorded over them.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import rectify.workflows.calls as calls  # named in full, so passed through (case_workflow.py says why)
    from rectify.activities.interface import VERIFY_AND_RECORD, VerifyOutcome, VerifyTask

VERIFY_WORKFLOW_ID = "rectify-verify"
#: The error type a run that found discrepancies fails with.
DISCREPANCIES = "AuditDiscrepancies"


@workflow.defn
class VerifyWorkflow:
    @workflow.run
    async def run(self, task: VerifyTask) -> VerifyOutcome:
        outcome: VerifyOutcome = await calls.run(VERIFY_AND_RECORD, task, budget=calls.AUDIT, result_type=VerifyOutcome)
        facts = {"scope": outcome.scope, "since": outcome.since, "events": outcome.events}
        if not outcome.ok:
            workflow.logger.error("audit.discrepancies", extra=facts | {"problems": outcome.problems})
            raise ApplicationError(
                f"the {outcome.scope} verify found {outcome.problems} "
                f"discrepanc{'y' if outcome.problems == 1 else 'ies'}",
                list(outcome.first_problems),
                type=DISCREPANCIES,
                non_retryable=True,
            )
        checkpoint = outcome.checkpoint
        workflow.logger.info("audit.verified", extra=facts | {"checkpoint": checkpoint.number if checkpoint else None})
        return outcome
