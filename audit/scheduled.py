"""The audit's scheduled step: verify the store and chain a verified checkpoint (audit/verify.py does the work).
The activity lives here, not in activities/, because it runs the audit; worker.py registers it with the rest.

A verify that finds discrepancies is not an activity failure: it returns them, and the workflow reports them.
The full verify splits its scan over processes of its own (spawned, so this worker's threads are not copied).
"""

from __future__ import annotations

from temporalio import activity

from rectify.activities.interface import VERIFY_AND_RECORD, VerifyOutcome, VerifyTask
from rectify.audit.verify import verify_and_record
from rectify.store import EventStore

#: Discrepancies carried in the outcome (the rest are counted; `rectify audit verify` lists them all).
SHOWN = 20


class AuditActivities:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=VERIFY_AND_RECORD)
    async def verify_and_record(self, task: VerifyTask) -> VerifyOutcome:
        findings, checkpoint = await verify_and_record(self.store, since_checkpoint=not task.full)
        problems = [f"{r.check}: {f.where()}: {f.problem}" for r in findings.results for f in r.findings]
        chains = next((r for r in findings.results if r.check == "chains"), None)
        return VerifyOutcome(
            ok=findings.ok,
            scope=findings.scope,
            since=findings.since,
            events=chains.checked if chains else 0,
            problems=len(problems),
            first_problems=tuple(problems[:SHOWN]),
            checkpoint=checkpoint,
        )
