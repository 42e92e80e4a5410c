"""Deadline arithmetic: one place that turns a category's limit into a due moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from rectify.domain.policy import Policy


def rectification_due(policy: Policy, category: str, start: datetime) -> datetime:
    """When the lead unit must have fixed the problem, counting from `start` (dispatch or rework).

    Counted on the clock for now; working-calendar counting (工作时, holidays, 调休) arrives with the
    calendar and replaces the body of this function, so every caller moves together.
    """
    limit = policy.categories[category].rectify_limit_hours
    return start + timedelta(hours=limit)
