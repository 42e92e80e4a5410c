"""The dispatch office's reads: its queue with keyset pages, the queue's counts, the open cases for the map,
what changed since a position (for live pages), the wall's figures and the latest rungs.

Why a case is in the queue is domain/office_queue.py's rule; the query is built from its constants, and the
reason is computed at the moment the caller gives (`now`), since being overdue depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from rectify.domain.events import EscalationRaised
from rectify.domain.office_queue import BEFORE_OVERDUE, OVERDUE_STATUSES, Need
from rectify.domain.types import OPEN_STATUSES
from rectify.store.projections import CaseRow
from rectify.store.read_models import CaseFilter

_OPEN = sorted(s.value for s in OPEN_STATUSES)
_RUNG_TYPE = EscalationRaised.model_fields["type"].default
#: Past this many new events since the last look, a live page reloads rather than reading each case.
MAX_CHANGED_EVENTS = 2000


class Order(StrEnum):
    URGENT = "urgent"  # the earliest clock first (overdue ones: the longest overdue first), then newest
    NEWEST = "newest"  # the latest report first


@dataclass(frozen=True)
class QueueFilter(CaseFilter):
    channel: str | None = None
    #: One reason only (domain.office_queue.Need), applied after the reason is computed.
    need: str | None = None

    def clauses(self, args: list[object]) -> list[str]:
        found = super().clauses(args)
        if self.channel is not None:
            args.append(self.channel)
            found.append(f"channel = ${len(args)}")
        return found


@dataclass(frozen=True)
class QueueItem:
    row: CaseRow
    need: Need
    #: The moment it is sorted by (None: no clock runs, it comes last).
    urgent_at: datetime | None


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    #: The last item's key, to start the next page after: (urgent_at or None, opened_at, case_id) in the urgent
    #: order, (opened_at, case_id) in the newest-first order; None on the last page.
    next_key: tuple | None


def _queue_sql(where: QueueFilter, now: datetime, args: list[object]) -> str:
    """The open cases matching `where`, each with its reason at `now` (`need`) and its sort moment."""
    args += [sorted(n.value for n in BEFORE_OVERDUE), sorted(s.value for s in OVERDUE_STATUSES), now, _OPEN]
    before, overdue_in, at, open_ = (f"${len(args) - i}" for i in (3, 2, 1, 0))
    args.append(Need.OVERDUE.value)
    overdue = f"${len(args)}"
    clauses = [f"status = ANY({open_}::text[])", *where.clauses(args)]
    need = (
        f"CASE WHEN attention = ANY({before}::text[]) THEN attention "
        f"WHEN status = ANY({overdue_in}::text[]) AND due_at <= {at} THEN {overdue} ELSE attention END"
    )
    return f"""SELECT q.*, CASE WHEN q.need = {overdue} THEN q.due_at ELSE q.clock_due_at END AS urgent_at
               FROM (SELECT c.*, {need} AS need FROM cases c WHERE {" AND ".join(clauses)}) q
               WHERE q.need IS NOT NULL"""


def _item(record: asyncpg.Record) -> QueueItem:
    fields = dict(record)
    need, urgent_at = Need(fields.pop("need")), fields.pop("urgent_at")
    return QueueItem(CaseRow(**fields), need, urgent_at)


async def queue_page(
    pool: asyncpg.Pool,
    where: QueueFilter,
    now: datetime,
    *,
    order: Order = Order.URGENT,
    after: tuple | None = None,
    limit: int = 30,
) -> QueuePage:
    """One page of the office's queue at `now`, after the key `after` (None: the first page)."""
    args: list[object] = []
    inner = _queue_sql(where, now, args)
    clauses = []
    if where.need is not None:
        args.append(where.need)
        clauses.append(f"need = ${len(args)}")
    if order is Order.URGENT:
        sort = "coalesce(urgent_at, 'infinity'::timestamptz)"
        if after is not None:
            args += [after[0], after[1], after[2]]
            a, b, c = (f"${len(args) - i}" for i in (2, 1, 0))
            a = f"coalesce({a}::timestamptz, 'infinity'::timestamptz)"
            clauses.append(f"({sort} > {a} OR ({sort} = {a} AND (opened_at, case_id) < ({b}, {c})))")
        order_by = f"{sort} ASC, opened_at DESC, case_id DESC"
    else:
        if after is not None:
            args += [after[0], after[1]]
            clauses.append(f"(opened_at, case_id) < (${len(args) - 1}, ${len(args)})")
        order_by = "opened_at DESC, case_id DESC"
    args.append(limit + 1)
    sql = f"SELECT * FROM ({inner}) page {'WHERE ' + ' AND '.join(clauses) if clauses else ''} "
    sql += f"ORDER BY {order_by} LIMIT ${len(args)}"
    items = [_item(r) for r in await pool.fetch(sql, *args)]
    more = len(items) > limit
    items = items[:limit]
    if not more:
        return QueuePage(items, None)
    last = items[-1]
    if order is Order.URGENT:
        return QueuePage(items, (last.urgent_at, last.row.opened_at, last.row.case_id))
    return QueuePage(items, (last.row.opened_at, last.row.case_id))


async def queue_counts(pool: asyncpg.Pool, where: QueueFilter, now: datetime) -> dict[tuple[str, int], int]:
    """How many cases of the queue stand for each (reason, rung), with `where`'s filters but for its reason."""
    args: list[object] = []
    inner = _queue_sql(where, now, args)
    rows = await pool.fetch(f"SELECT need, escalation_level, count(*) AS n FROM ({inner}) q GROUP BY 1, 2", *args)
    return {(r["need"], r["escalation_level"]): r["n"] for r in rows}


@dataclass(frozen=True)
class MapPoint:
    case_id: str
    lon: float
    lat: float
    status: str
    escalation_level: int


async def open_points(pool: asyncpg.Pool, scope_unit: str | None = None) -> list[MapPoint]:
    """Every open case with a place, west to east (the map's data is delta-coded in that order)."""
    rows = await pool.fetch(
        """SELECT case_id, lon, lat, status, escalation_level FROM cases
           WHERE status = ANY($1::text[]) AND lon IS NOT NULL AND ($2::text IS NULL OR lead_unit = $2)
           ORDER BY lon, lat, case_id""",
        _OPEN,
        scope_unit,
    )
    return [MapPoint(*r) for r in rows]


async def pick(pool: asyncpg.Pool, short_id: str, lon: float, lat: float, scope_unit: str | None) -> str | None:
    """The case a map marker stands for: its id begins with `short_id`; the one nearest the spot if several do."""
    return await pool.fetchval(
        """SELECT case_id FROM cases WHERE left(case_id, length($1)) = $1 AND ($4::text IS NULL OR lead_unit = $4)
           ORDER BY status = ANY($5::text[]) DESC, abs(lon - $2) + abs(lat - $3), case_id LIMIT 1""",
        short_id,
        lon,
        lat,
        scope_unit,
        _OPEN,
    )


async def head_position(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")


async def changed_since(pool: asyncpg.Pool, after: int, upto: int) -> list[CaseRow] | None:
    """The case rows touched by the events in (after, upto]; None when there are too many to send one by one."""
    if upto - after > MAX_CHANGED_EVENTS:
        return None
    rows = await pool.fetch(
        """SELECT c.* FROM cases c
           WHERE c.case_id IN (SELECT DISTINCT e.case_id FROM events e WHERE e.position > $1 AND e.position <= $2)
           ORDER BY c.case_id""",
        after,
        upto,
    )
    return [CaseRow(**dict(r)) for r in rows]


@dataclass(frozen=True)
class DayFigures:
    intake: int
    closed: int
    open: int
    overdue: int


async def day_figures(pool: asyncpg.Pool, day_start: datetime, now: datetime) -> DayFigures:
    """Reports and closures since `day_start`, and the open and overdue cases at `now`."""
    row = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE opened_at >= $1 AND opened_at <= $2) AS intake,
                  count(*) FILTER (WHERE closed_at >= $1 AND closed_at <= $2) AS closed,
                  count(*) FILTER (WHERE status = ANY($3::text[])) AS open,
                  count(*) FILTER (WHERE status = ANY($4::text[]) AND due_at <= $2) AS overdue
           FROM cases""",
        day_start,
        now,
        _OPEN,
        sorted(s.value for s in OVERDUE_STATUSES),
    )
    return DayFigures(row["intake"], row["closed"], row["open"], row["overdue"])


@dataclass(frozen=True)
class UnitLoad:
    unit_id: str
    open: int
    overdue: int
    top_rung: int


async def unit_loads(pool: asyncpg.Pool, now: datetime) -> list[UnitLoad]:
    """Open and overdue cases by lead unit at `now`, the most overdue units first."""
    rows = await pool.fetch(
        """SELECT lead_unit, count(*) AS open,
                  count(*) FILTER (WHERE status = ANY($2::text[]) AND due_at <= $3) AS overdue,
                  max(escalation_level) AS top_rung
           FROM cases WHERE status = ANY($1::text[]) AND lead_unit IS NOT NULL
           GROUP BY lead_unit ORDER BY overdue DESC, open DESC, lead_unit""",
        _OPEN,
        sorted(s.value for s in OVERDUE_STATUSES),
        now,
    )
    return [UnitLoad(r["lead_unit"], r["open"], r["overdue"], r["top_rung"]) for r in rows]


@dataclass(frozen=True)
class RungRecord:
    case_id: str
    at: datetime
    level: int
    unit: str
    category: str
    description: str
    address: str | None


async def latest_rungs(pool: asyncpg.Pool, limit: int) -> list[RungRecord]:
    """The rungs most recently reached, newest first, with what the case is about."""
    rows = await pool.fetch(
        """SELECT e.case_id, e.occurred_at, (e.body->>'level')::int AS level, e.body->>'unit' AS unit,
                  c.category, c.description, c.address
           FROM events e JOIN cases c ON c.case_id = e.case_id
           WHERE e.type = $1 ORDER BY e.position DESC LIMIT $2""",
        _RUNG_TYPE,
        limit,
    )
    return [RungRecord(*r) for r in rows]


__all__: Sequence[str] = (
    "DayFigures",
    "MapPoint",
    "Order",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "RungRecord",
    "UnitLoad",
    "changed_since",
    "day_figures",
    "head_position",
    "latest_rungs",
    "open_points",
    "pick",
    "queue_counts",
    "queue_page",
    "unit_loads",
)
