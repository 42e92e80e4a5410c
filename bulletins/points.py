"""The bulletin's section on inspection points (五、点位测评准备情况): readiness at the week's end, by responsible
leader and by unit, and the points not ready with why. Computed from the events recorded before the week ended, so
a bulletin rendered again later reads the same."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rectify.domain.battle_map import BoardPoint, Share, by_leader, by_unit, shares
from rectify.domain.inspection import InspectionPoint
from rectify.domain.points import REASON_LABELS, Readiness
from rectify.domain.policy import Policy
from rectify.store import EventStore
from rectify.store.inspections import battle_map_at


def _row(share: Share, name: str) -> dict:
    return {
        "name": name,
        "total": share.total,
        "ready": share.ready,
        "stale": share.stale,
        "not_ready": share.not_ready,
        "share": share.share,
    }


async def points_section(
    store: EventStore, policy: Policy, points: Iterable[InspectionPoint], end: datetime
) -> dict | None:
    """What the template prints, or None for a city without points."""
    points = list(points)
    if not points:
        return None
    board: list[BoardPoint] = await battle_map_at(store.pool, points, policy, end)
    rules = policy.inspection
    count = {level: sum(1 for b in board if b.readiness.level is level) for level in Readiness}

    def unit_name(unit_id: str) -> str:
        unit = policy.units.get(unit_id)
        return unit.name if unit else unit_id

    not_ready = [
        {
            "name": b.point.name,
            "category": rules.point_categories[b.point.category].name,
            "leader": rules.leaders[b.point.leader].name,
            "unit": unit_name(b.point.territorial_unit),
            "why": "、".join(REASON_LABELS[r] for r in b.readiness.reasons),
        }
        for b in board
        if b.readiness.level is Readiness.NOT_READY
    ]
    return {
        "total": len(board),
        "ready": count[Readiness.READY],
        "stale": count[Readiness.STALE],
        "not_ready": count[Readiness.NOT_READY],
        "share": count[Readiness.READY] / len(board),
        "window": rules.ready_window_days,
        "leaders": [_row(s, rules.leaders[s.key].name) for s in shares(board, by_leader)],
        "units": [_row(s, unit_name(s.key)) for s in shares(board, by_unit)],
        "failing": not_ready,
    }
