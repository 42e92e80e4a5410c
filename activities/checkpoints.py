"""The checkpoint activity: an audit checkpoint (Merkle root over every chain head) taken as a durable step."""

from __future__ import annotations

from temporalio import activity

from rectify.activities.interface import RECORD_CHECKPOINT
from rectify.domain.checkpoints import Checkpoint
from rectify.store import EventStore
from rectify.store.checkpoints import record_checkpoint


class CheckpointActivities:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=RECORD_CHECKPOINT)
    async def record_checkpoint(self) -> Checkpoint:
        return await record_checkpoint(self.store.pool)
