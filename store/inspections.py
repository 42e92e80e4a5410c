"""Inspection points and rounds as the edges read them: the `points` and `rounds` read models, a point's records
and a round's events from their streams, the cases each point opened, and the battle map built from them.

Part of the query layer: the edges (CLI, /v1, the web pages) read points and rounds here, and write through the SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

from rectify.domain.battle_map import BoardPoint, board
from rectify.domain.events import EVENT_LIST_ADAPTER
from rectify.domain.inspection import InspectionPoint, point_stream, round_stream
from rectify.domain.inspection_events import (
    POINT_EVENT_LIST_ADAPTER,
    ROUND_EVENT_LIST_ADAPTER,
    PointEvent,
    RoundEvent,
)
from rectify.domain.points import CaseOnPoint, PointFacts, facts_of, fold_point
from rectify.domain.policy import Policy
from rectify.domain.rounds import RoundState, fold_round
from rectify.domain.state import fold
from rectify.domain.types import OPEN_STATUSES
from rectify.store.projections import PointRow, RoundRow

Pool = asyncpg.Pool | asyncpg.Connection
_OPEN = frozenset(s.value for s in OPEN_STATUSES)


async def point_rows(pool: Pool, point_ids: Sequence[str] | None = None) -> dict[str, PointRow]:
    """The `points` rows (every point ever recorded, or those named), by point id."""
    rows = await pool.fetch(
        "SELECT * FROM points WHERE $1::text[] IS NULL OR point_id = ANY($1::text[]) ORDER BY point_id",
        None if point_ids is None else list(point_ids),
    )
    return {r["point_id"]: PointRow(**dict(r)) for r in rows}


async def cases_on_points(pool: Pool, point_ids: Sequence[str] | None = None) -> dict[str, list[CaseOnPoint]]:
    """The cases each point's failures opened, oldest first, as readiness reads them."""
    rows = await pool.fetch(
        """SELECT point_id, case_id, status, due_at, escalation_level FROM cases
           WHERE point_id IS NOT NULL AND ($1::text[] IS NULL OR point_id = ANY($1::text[]))
           ORDER BY point_id, opened_at, case_id""",
        None if point_ids is None else list(point_ids),
    )
    found: dict[str, list[CaseOnPoint]] = {}
    for point_id, case_id, status, due_at, level in rows:
        found.setdefault(point_id, []).append(CaseOnPoint(case_id, status in _OPEN, due_at, level))
    return found


async def battle_map(
    pool: Pool,
    points: Iterable[InspectionPoint],
    policy: Policy,
    now: datetime,
    point_ids: Sequence[str] | None = None,
) -> list[BoardPoint]:
    """Every point with its readiness at `now` (the 攻坚作战图's data), or only those named (a point's page): two
    queries, whatever the number of points, each reading only the columns readiness needs into plain tuples."""
    wanted = None if point_ids is None else list(point_ids)
    if wanted is not None:
        named = set(wanted)
        points = [p for p in points if p.point_id in named]
    rows = await pool.fetch(
        """SELECT point_id, last_checked_at, failed_items FROM points
           WHERE $1::text[] IS NULL OR point_id = ANY($1::text[])""",
        wanted,
    )
    facts = {
        point_id: PointFacts(checked, tuple(failed.split(",")) if failed else ()) for point_id, checked, failed in rows
    }
    return board(points, facts, await cases_on_points(pool, wanted), now, policy)


async def point_records(pool: Pool, point_id: str) -> list[PointEvent]:
    """A point's stream: every inspection of it and every case its failures opened, oldest first."""
    rows = await pool.fetch("SELECT body FROM events WHERE case_id = $1 ORDER BY version", point_stream(point_id))
    return POINT_EVENT_LIST_ADAPTER.validate_python([r["body"] for r in rows])


async def round_events(pool: Pool, round_id: str) -> list[RoundEvent]:
    rows = await pool.fetch("SELECT body FROM events WHERE case_id = $1 ORDER BY version", round_stream(round_id))
    return ROUND_EVENT_LIST_ADAPTER.validate_python([r["body"] for r in rows])


async def round_state(pool: Pool, round_id: str) -> RoundState | None:
    """A round as its events leave it (its points, which are recorded and what failed), or None if unknown."""
    return fold_round(await round_events(pool, round_id))


async def round_rows(
    pool: Pool,
    *,
    unit: str | None = None,
    leader: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[RoundRow]:
    """Rounds, newest first: walked by `unit`, for `leader`, in `status`, planned since `since`."""
    rows = await pool.fetch(
        """SELECT * FROM rounds WHERE ($1::text IS NULL OR inspector_unit = $1) AND ($2::text IS NULL OR leader = $2)
           AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR planned_at >= $4)
           ORDER BY planned_at DESC, round_id LIMIT $5""",
        unit,
        leader,
        status,
        since,
        limit,
    )
    return [RoundRow(**dict(r)) for r in rows]


async def rounds_through(pool: Pool, point_id: str, limit: int = 50) -> list[str]:
    """The rounds that recorded a point, newest first (from its stream)."""
    rows = await pool.fetch(
        """SELECT DISTINCT ON (body->>'round_id') body->>'round_id' AS round_id, occurred_at FROM events
           WHERE case_id = $1 AND type = 'point_inspected' ORDER BY body->>'round_id', occurred_at DESC""",
        point_stream(point_id),
    )
    return [r["round_id"] for r in sorted(rows, key=lambda r: r["occurred_at"], reverse=True)][:limit]


async def battle_map_at(
    pool: Pool, points: Iterable[InspectionPoint], policy: Policy, end: datetime
) -> list[BoardPoint]:
    """The battle map as it stood at `end`, from the events recorded before it (a bulletin's week): the same answer
    however long after `end` it is asked."""
    facts: dict[str, PointFacts] = {}
    rows = await pool.fetch(
        """SELECT case_id, body FROM events WHERE left(case_id, 3) = 'pt-' AND occurred_at < $1
           ORDER BY case_id, version""",
        end,
    )
    for stream, bodies in _streams(rows).items():
        state = fold_point(POINT_EVENT_LIST_ADAPTER.validate_python(bodies))
        facts[stream.removeprefix("pt-")] = facts_of(state)
    rows = await pool.fetch(
        """SELECT e.case_id, e.body FROM events e JOIN cases c ON c.case_id = e.case_id
           WHERE c.point_id IS NOT NULL AND e.occurred_at < $1 ORDER BY e.case_id, e.version""",
        end,
    )
    cases: dict[str, list[CaseOnPoint]] = {}
    for _, bodies in _streams(rows).items():
        case = fold(EVENT_LIST_ADAPTER.validate_python(bodies))
        if case is not None and case.point_id is not None:
            cases.setdefault(case.point_id, []).append(
                CaseOnPoint(
                    case_id=case.case_id,
                    open=case.status in OPEN_STATUSES,
                    due_at=case.due_at,
                    escalation_level=case.escalation_level,
                )
            )
    return board(list(points), facts, cases, end, policy)


def _streams(rows: Sequence[asyncpg.Record]) -> dict[str, list]:
    found: dict[str, list] = {}
    for r in rows:
        found.setdefault(r["case_id"], []).append(r["body"])
    return found
