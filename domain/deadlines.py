"""Deadline arithmetic: one place that turns a policy limit into a due moment, and says when the ladder climbs.

Working-time limits count on the city's calendar (工作时); urgent categories count natural hours.
A due moment that reaches past the years whose holidays are known is marked `estimated`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from rectify.domain.policy import LimitKind, Policy, Rung


class Stage(StrEnum):
    DISPATCH = "dispatch"  # 立案/派遣
    CLAIM = "claim"  # 认领
    RECTIFY = "rectify"  # 整改
    VERIFY = "verify"  # 核查
    FEEDBACK = "feedback"  # 回访


def stage_limit(policy: Policy, stage: Stage, category: str) -> tuple[timedelta, bool]:
    """(limit, counted on the clock?) for a stage of a case of `category`."""
    if stage is Stage.RECTIFY:
        spec = policy.categories[category]
        return timedelta(hours=spec.rectify_limit_hours), spec.limit_kind is LimitKind.NATURAL
    hours = {
        Stage.DISPATCH: policy.stages.dispatch_hours,
        Stage.CLAIM: policy.stages.claim_hours,
        Stage.VERIFY: policy.stages.verify_hours,
        Stage.FEEDBACK: policy.stages.feedback_hours,
    }[stage]
    return timedelta(hours=hours), False


def add_time(policy: Policy, start: datetime, duration: timedelta, natural: bool) -> tuple[datetime, bool]:
    """`start` plus `duration` on the clock or on the working calendar; True when the calendar had to guess."""
    if natural:
        return start + duration, False
    due = policy.calendar.add_working_time(start, duration)
    return due, not policy.calendar.knows(start, due)


def stage_due(policy: Policy, stage: Stage, category: str, start: datetime) -> tuple[datetime, bool]:
    limit, natural = stage_limit(policy, stage, category)
    return add_time(policy, start, limit, natural)


def reopen_window_end(policy: Policy, closed_at: datetime) -> datetime:
    """Until when a case closed at `closed_at` may be reopened: the policy's days, on the clock."""
    return closed_at + timedelta(days=policy.reopen_window_days)


def rung_moment(policy: Policy, missed_due: datetime, rung: Rung, paused: timedelta) -> datetime:
    """When `rung` is reached: working time after the missed deadline, not counting suspended time."""
    return policy.calendar.add_working_time(missed_due, timedelta(hours=rung.after_hours) + paused)
