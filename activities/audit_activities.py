"""Activities of the audit: recording checkpoints (reads the store, appends one checkpoint row)."""

from __future__ import annotations

from temporalio import activity

from rectify.audit.checkpoints import Checkpoint, record_checkpoint
from rectify.store import EventStore
from rectify.workflows.checkpoint_workflow import CHECKPOINT_ACTIVITY


class AuditActivities:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=CHECKPOINT_ACTIVITY)
    async def record_checkpoint(self) -> Checkpoint:
        return await record_checkpoint(self.store.pool)
