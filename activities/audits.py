"""The audit's scheduled step: verify the store and chain a verified checkpoint.

The verify is the audit's (audit/verify.py `scheduled_verify`), which stands above the activities in the layers,
so the worker hands it in. A verify that finds discrepancies is not an activity failure: it returns them, and
the workflow reports them. The full verify splits its scan over processes of its own (spawned, so this worker's
threads are not copied).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity

from rectify.activities.interface import VERIFY_AND_RECORD, VerifyOutcome, VerifyTask
from rectify.store import EventStore

#: Verify the store as the task asks and record a verified checkpoint if it passes.
Verifier = Callable[[EventStore, VerifyTask], Awaitable[VerifyOutcome]]


class AuditActivities:
    def __init__(self, store: EventStore, verify: Verifier) -> None:
        self.store = store
        self.verify = verify

    @activity.defn(name=VERIFY_AND_RECORD)
    async def verify_and_record(self, task: VerifyTask) -> VerifyOutcome:
        return await self.verify(self.store, task)
