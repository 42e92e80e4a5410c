"""Activities of the audit and the weekly bulletin: checkpoints, and rendering 督查通报 files."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.exceptions import ApplicationError

from rectify.activities.bulletins import Bulletin, issue_bulletin
from rectify.domain.checkpoints import Checkpoint
from rectify.domain.periods import PeriodError, previous_week, week_of
from rectify.domain.policy import Policy
from rectify.store import EventStore
from rectify.store.checkpoints import record_checkpoint
from rectify.workflows.bulletin_workflow import BULLETIN_ACTIVITY, BulletinTask
from rectify.workflows.checkpoint_workflow import CHECKPOINT_ACTIVITY


class AuditActivities:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=CHECKPOINT_ACTIVITY)
    async def record_checkpoint(self) -> Checkpoint:
        return await record_checkpoint(self.store.pool)


class BulletinActivities:
    def __init__(self, store: EventStore, policy: Policy, out_dir: Path) -> None:
        self.store, self.policy, self.out_dir = store, policy, out_dir

    @activity.defn(name=BULLETIN_ACTIVITY)
    async def issue_bulletin(self, task: BulletinTask) -> Bulletin:
        zone = self.policy.timezone
        today = task.issued_at.astimezone(ZoneInfo(zone)).date()  # the workflow's clock, not this machine's
        week = task.week or previous_week(week_of(today, zone), zone).label
        try:
            return await issue_bulletin(self.store, self.policy, week, self.out_dir, today=today)
        except PeriodError as error:
            raise ApplicationError(str(error), type="PeriodError", non_retryable=True) from error
