"""CheckpointWorkflow: record an audit checkpoint (Merkle root over all chain heads) as a durable step.

Started by the simulation at its end (the time-skipping test server has no Schedules). The hourly
`rectify-checkpoint` Schedule runs VerifyWorkflow instead, which records a verified checkpoint after the
incremental verify; this workflow stays for the simulation and for the histories that ran it.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import rectify.workflows.calls as calls  # named in full, so passed through (case_workflow.py says why)
    from rectify.activities.interface import RECORD_CHECKPOINT
    from rectify.domain.checkpoints import Checkpoint

CHECKPOINT_WORKFLOW_ID = "rectify-checkpoint"


@workflow.defn
class CheckpointWorkflow:
    @workflow.run
    async def run(self) -> Checkpoint:
        checkpoint: Checkpoint = await calls.run(RECORD_CHECKPOINT, budget=calls.REPORTING, result_type=Checkpoint)
        workflow.logger.info("audit.checkpoint", extra={"number": checkpoint.number, "root": checkpoint.root})
        return checkpoint
