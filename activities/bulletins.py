"""The bulletin activity: the weekly 督查通报 rendered by bulletins/ into the bulletin folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.exceptions import ApplicationError

from rectify.activities.interface import ISSUE_BULLETIN, BulletinTask
from rectify.bulletins.issue import issue_bulletin
from rectify.domain.bulletin import Bulletin
from rectify.domain.inspection import InspectionPoint
from rectify.domain.periods import PeriodError, previous_week, week_of
from rectify.domain.policy import Policy
from rectify.store import EventStore


class BulletinActivities:
    def __init__(
        self, store: EventStore, policy: Policy, out_dir: Path, points: Sequence[InspectionPoint] = ()
    ) -> None:
        self.store, self.policy, self.out_dir = store, policy, out_dir
        #: The city's inspection points, for the bulletin's section on them (none: no such section).
        self.points = points

    @activity.defn(name=ISSUE_BULLETIN)
    async def issue_bulletin(self, task: BulletinTask) -> Bulletin:
        zone = self.policy.timezone
        today = task.issued_at.astimezone(ZoneInfo(zone)).date()  # the workflow's clock, not this machine's
        week = task.week or previous_week(week_of(today, zone), zone).label
        try:
            return await issue_bulletin(self.store, self.policy, week, self.out_dir, today=today, points=self.points)
        except PeriodError as error:
            raise ApplicationError(str(error), type="PeriodError", non_retryable=True) from error
