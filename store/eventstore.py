"""The event store on PostgreSQL (asyncpg): append-only events, a hash chain per case, read models.

`append` is atomic and optimistic: it names the version it expects, and loses cleanly with a
`ConcurrencyError` when another writer got there first. A retried append of the same event ids is
recognised and answered without writing twice, so activities may retry freely.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from rectify.domain.events import (
    EVENT_LIST_ADAPTER,
    PROCEEDING_EVENT_LIST_ADAPTER,
    Event,
    ProceedingEvent,
    StoredEvent,
    parse_event,
)
from rectify.domain.indicators import UnitCounts
from rectify.domain.state import CaseState
from rectify.store import append, scan
from rectify.store.append import AppendResult, Batch, ConcurrencyError, EventConflict
from rectify.store.connection import init_connection
from rectify.store.failures import UNSTORABLE, UnstorableEvents
from rectify.store.projections import (
    CASE_COLUMNS,
    POINT_COLUMNS,
    PROCEEDING_COLUMNS,
    ROUND_COLUMNS,
    CaseRow,
    PointRow,
    ProceedingRow,
    RoundRow,
    StreamState,
)
from rectify.store.scan import ChainProblem, ReadModelDiff


@dataclass(frozen=True)
class EventRecord:
    position: int
    case_id: str
    version: int
    event_id: str
    type: str
    body: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str
    seal: str


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


def _record(row: asyncpg.Record) -> EventRecord:
    return EventRecord(**{field: row[field] for field in EventRecord.__dataclass_fields__})


class EventStore:
    def __init__(self, pool: asyncpg.Pool, database_url: str | None = None) -> None:
        self.pool = pool
        #: Where this store lives, for work that opens connections of its own (the audit's processes).
        self.database_url = database_url
        #: Each stream's head as this process last wrote it, so an append needs no read first.
        self.heads = append.Heads()

    @classmethod
    async def connect(cls, database_url: str, *, min_size: int = 1, max_size: int = 10) -> EventStore:
        pool = await asyncpg.create_pool(database_url, min_size=min_size, max_size=max_size, init=init_connection)
        return cls(pool, database_url)

    async def close(self, timeout: float = 3.0) -> None:
        """Close the pool; connections still busy after `timeout` seconds are terminated (their work rolls back)."""
        try:
            await asyncio.wait_for(self.pool.close(), timeout)
        except TimeoutError:
            self.pool.terminate()

    # -- writing ------------------------------------------------------------------------------------
    async def append(
        self,
        case_id: str,
        expected_version: int,
        events: Sequence[StoredEvent],
        state_after: StreamState,
    ) -> AppendResult:
        """Append `events` to one stream (a case, or a proceeding) if it is still at `expected_version`; update
        its read model row."""
        return (await self.append_many([(case_id, expected_version, events, state_after)]))[0]

    async def append_or_stored(
        self, case_id: str, expected_version: int, events: Sequence[Event], state_after: CaseState
    ) -> tuple[AppendResult, list[Event]]:
        """`append`, but when the case already holds events after `expected_version`, answer with them.

        For the case workflow's local append: the workflow is the case's only writer, so events it has not
        folded can only come from an earlier attempt of its own workflow task, decided a moment earlier.
        The workflow takes them as the record instead of its new decision. Returns the events as stored.
        """
        try:
            return await self.append(case_id, expected_version, events, state_after), list(events)
        except (ConcurrencyError, EventConflict):
            records = await self.pool.fetch(
                f"SELECT {_RECORD_SELECT} FROM events WHERE case_id = $1 AND version > $2 ORDER BY version",
                case_id,
                expected_version,
            )
            if not records:
                raise
            last = records[-1]
            result = AppendResult(case_id, last["version"], last["position"], last["hash"], duplicate=True)
            return result, EVENT_LIST_ADAPTER.validate_python([r["body"] for r in records])

    async def append_many(self, batch: Batch) -> list[AppendResult]:
        """Append to many cases in one transaction (the simulation's bulk path); all or nothing.

        One call of `rectify_append` (see store/append.py); a retried append is answered from what is
        stored, and a head this process remembered wrongly is read again, once.
        """
        append.check_batch(batch)
        results: dict[str, AppendResult] = {}
        pending, reread = list(batch), False
        for _ in range(4):  # duplicates answered, a stale memory or a racing twin: each costs one more call
            bases = {case_id: self.heads.get(case_id, expected) for case_id, expected, *_ in pending}
            if missing := {case_id: expected for case_id, expected, *_ in pending if bases[case_id] is None}:
                bases |= await append.read_bases(self.pool, missing)
            document, after = append.payload(pending, bases)  # type: ignore[arg-type]
            try:
                stored = await self.pool.fetch(append.CALL, document)
            except UNSTORABLE as error:  # the data itself, not the moment: no retry will store it
                raise UnstorableEvents([case_id for case_id, *_ in pending], error) from error
            except asyncpg.UniqueViolationError:
                self.heads.forget([case_id for case_id, *_ in pending])  # a twin won the race: ask again
                continue
            except asyncpg.PostgresError as error:
                head = append.moved(error)
                if head is None:
                    raise
                stream_id, version = head["case_id"], head["version"]
                expected = next(expected for case_id, expected, *_ in pending if case_id == stream_id)
                if version != expected or reread:
                    raise ConcurrencyError(stream_id, expected, version) from error
                self.heads.forget([stream_id])
                reread = True
                continue
            if stored and stored[0]["duplicate"]:
                results |= append.duplicates(pending, stored)
                pending = [item for item in pending if item[0] not in results]
                if pending:
                    continue
            else:
                results |= append.written(stored)
                for stream_id, base in after.items():
                    self.heads.put(stream_id, base)
            return [results[case_id] for case_id, *_ in batch]
        raise ConcurrencyError(batch[0][0] if len(batch) == 1 else "batch", -1, -1)

    # -- the outbox ---------------------------------------------------------------------------------
    async def deliver_outbox(self, case_id: str, deliver: Deliver | None = None) -> int:
        """Deliver the case's undelivered notifications, then record them delivered. Returns how many.

        `deliver` sends one notification (a gateway, a webhook); by default it files it in the unit's
        inbox in this database. A crash between sending and recording means it is sent again: at least once.
        """
        if deliver is None:  # filing in the inbox is a database write: one statement, one round trip
            return len(await self.pool.fetch(_FILE_IN_INBOX, case_id))
        sent = 0
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT * FROM outbox WHERE case_id = $1 AND delivered_at IS NULL "
                "ORDER BY created_at, notification_id FOR UPDATE SKIP LOCKED",
                case_id,
            )
            for row in rows:
                await deliver(dict(row))
                await conn.execute(
                    "UPDATE outbox SET delivered_at = clock_timestamp(), attempts = attempts + 1 "
                    "WHERE notification_id = $1",
                    row["notification_id"],
                )
                sent += 1
        return sent

    async def inbox(self, unit_id: str, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM inbox WHERE unit_id = $1 ORDER BY received_at DESC, notification_id LIMIT $2",
            unit_id,
            limit,
        )
        return [dict(r) for r in rows]

    async def undelivered(self) -> int:
        return await self.pool.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")

    # -- reading ------------------------------------------------------------------------------------
    async def load(self, stream_id: str) -> list[StoredEvent]:
        """Every event of a stream, a case's or a proceeding's (`load_case` and `load_proceeding` say which)."""
        return [parse_event(r.body) for r in await self.load_records(stream_id)]

    async def load_case(self, case_id: str) -> list[Event]:
        """Every event of a case; a proceeding's id here is refused (a ValidationError)."""
        return EVENT_LIST_ADAPTER.validate_python([r.body for r in await self.load_records(case_id)])

    async def load_proceeding(self, proceeding_id: str) -> list[ProceedingEvent]:
        """Every event of an accountability proceeding; a case's id here is refused (a ValidationError)."""
        return PROCEEDING_EVENT_LIST_ADAPTER.validate_python([r.body for r in await self.load_records(proceeding_id)])

    async def load_records(self, case_id: str) -> list[EventRecord]:
        rows = await self.pool.fetch(
            f"SELECT {_RECORD_SELECT} FROM events WHERE case_id = $1 ORDER BY version", case_id
        )
        return [_record(r) for r in rows]

    async def read_all(self, after_position: int = 0, batch_size: int = 1000) -> AsyncIterator[EventRecord]:
        """Every event in global position order, in pages."""
        position = after_position
        while True:
            rows = await self.pool.fetch(
                f"SELECT {_RECORD_SELECT} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
                position,
                batch_size,
            )
            for row in rows:
                yield _record(row)
            if len(rows) < batch_size:
                return
            position = rows[-1]["position"]

    async def head(self, case_id: str) -> tuple[int, str] | None:
        row = await self.pool.fetchrow(
            "SELECT version, hash FROM events WHERE case_id = $1 ORDER BY version DESC LIMIT 1", case_id
        )
        return (row["version"], row["hash"]) if row else None

    async def case_ids(self) -> list[str]:
        return [r["case_id"] for r in await self.pool.fetch("SELECT DISTINCT case_id FROM events ORDER BY case_id")]

    async def get_case(self, case_id: str) -> CaseRow | None:
        row = await self.pool.fetchrow("SELECT * FROM cases WHERE case_id = $1", case_id)
        return CaseRow(**dict(row)) if row else None

    async def list_cases(
        self,
        *,
        status: str | None = None,
        category: str | None = None,
        lead_unit: str | None = None,
        territorial_unit: str | None = None,
        grid_id: str | None = None,
        escalation_level: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CaseRow]:
        filters = {
            "status": status,
            "category": category,
            "lead_unit": lead_unit,
            "territorial_unit": territorial_unit,
            "grid_id": grid_id,
            "escalation_level": escalation_level,
        }
        clauses, args = [], []
        for column, value in filters.items():
            if value is not None:
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        args += [limit, offset]
        rows = await self.pool.fetch(
            f"SELECT * FROM cases {where} ORDER BY opened_at DESC, case_id LIMIT ${len(args) - 1} OFFSET ${len(args)}",
            *args,
        )
        return [CaseRow(**dict(r)) for r in rows]

    # -- proceedings ---------------------------------------------------------------------------------
    async def list_proceedings(
        self, *, unit: str | None = None, status: str | None = None, case_id: str | None = None
    ) -> list[ProceedingRow]:
        rows = await self.pool.fetch(
            """SELECT * FROM proceedings WHERE ($1::text IS NULL OR unit = $1) AND ($2::text IS NULL OR status = $2)
               AND ($3::text IS NULL OR subject_case_id = $3) ORDER BY opened_at, proceeding_id""",
            unit,
            status,
            case_id,
        )
        return [ProceedingRow(**dict(r)) for r in rows]

    # -- indicators ---------------------------------------------------------------------------------
    async def unit_counts(self, start: datetime, end: datetime) -> dict[str, UnitCounts]:
        """Each unit's fact sums for [start, end); open overdue counts every episode begun and not ended by `end`."""
        rows = await self.pool.fetch(
            """SELECT unit_id, kind, count(*) AS n, coalesce(sum(value), 0) AS total,
                      array_agg(value ORDER BY value) FILTER (WHERE kind = 'closed') AS hours
               FROM unit_facts WHERE at >= $1 AND at < $2 GROUP BY unit_id, kind""",
            start,
            end,
        )
        overdue = await self.pool.fetch(
            """SELECT unit_id, sum(CASE kind WHEN 'overdue_start' THEN 1 ELSE -1 END) AS n FROM unit_facts
               WHERE kind IN ('overdue_start', 'overdue_end') AND at < $1 GROUP BY unit_id""",
            end,
        )
        raw: dict[str, dict] = {}
        for r in rows:
            u = raw.setdefault(r["unit_id"], {"rungs": {}})
            kind = r["kind"]
            if kind.startswith("rung_"):
                u["rungs"][int(kind.removeprefix("rung_"))] = r["n"]
            elif kind == "points":
                u["points"] = r["total"]
            elif kind in UnitCounts.model_fields:
                u[kind] = r["n"]
            if kind == "closed":
                u["hours_to_close"] = tuple(r["hours"] or ())
        for r in overdue:
            raw.setdefault(r["unit_id"], {"rungs": {}})["open_overdue"] = r["n"]
        return {unit: UnitCounts(**u) for unit, u in raw.items()}

    async def latest_event_time(self) -> datetime | None:
        return await self.pool.fetchval("SELECT max(occurred_at) FROM events")

    # -- audit helpers ------------------------------------------------------------------------------
    async def audit(
        self, case_id: str | None = None, *, workers: int | None = None
    ) -> tuple[int, list[ChainProblem], ReadModelDiff]:
        """Every chain checked and every stream folded against the read models, in one pass (see store/scan.py).

        Returns how many events were read, the chain problems and the read-model differences.
        """
        return await scan.audit(self.pool, self.database_url, case_id=case_id, workers=workers)

    async def verify_chains(self, case_id: str | None = None) -> list[ChainProblem]:
        """Recompute every per-case chain from the stored bodies; an empty list means intact."""
        return (await self.audit(case_id, workers=1))[1]

    async def diff_read_models(self) -> ReadModelDiff:
        return (await self.audit(workers=1))[2]

    async def rebuild_read_models(self, *, workers: int | None = None) -> ReadModelDiff:
        """Recreate the read models from the events; returns what differed before the rebuild.

        The events are folded by the audit's scan (over several processes for a large store) and the rows
        written back with COPY, all in one transaction: readers see the old read models or the new ones.
        """
        found, diff = await scan.whole(self.pool, self.database_url, workers=workers, keep=True)
        if broken := sorted(case_id for case_id, row in found.rows.items() if row is None):
            raise EventConflict(f"cannot rebuild: the events of {len(broken)} cases no longer fold, e.g. {broken[0]}")
        rows = list(found.rows.values())
        cases = [tuple(getattr(r, c) for c in CASE_COLUMNS) for r in rows if isinstance(r, CaseRow)]
        proceedings = [tuple(getattr(r, c) for c in PROCEEDING_COLUMNS) for r in rows if isinstance(r, ProceedingRow)]
        points = [tuple(getattr(r, c) for c in POINT_COLUMNS) for r in rows if isinstance(r, PointRow)]
        rounds = [tuple(getattr(r, c) for c in ROUND_COLUMNS) for r in rows if isinstance(r, RoundRow)]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM cases")
            await conn.execute("DELETE FROM proceedings")
            await conn.execute("DELETE FROM points")
            await conn.execute("DELETE FROM rounds")
            await conn.copy_records_to_table("points", records=points, columns=POINT_COLUMNS)
            await conn.copy_records_to_table("rounds", records=rounds, columns=ROUND_COLUMNS)
            await conn.execute("DELETE FROM unit_facts")
            await conn.copy_records_to_table("cases", records=cases, columns=CASE_COLUMNS)
            await conn.copy_records_to_table("proceedings", records=proceedings, columns=PROCEEDING_COLUMNS)
            await conn.copy_records_to_table("unit_facts", records=list(found.facts), columns=scan.FACT_FIELDS)
        return diff


_RECORD_SELECT = "position, case_id, version, event_id, type, body, recorded_at, prev_hash, hash, seal"
_FILE_IN_INBOX = """
WITH picked AS (
    SELECT * FROM outbox WHERE case_id = $1 AND delivered_at IS NULL
    ORDER BY created_at, notification_id FOR UPDATE SKIP LOCKED
), filed AS (
    INSERT INTO inbox (notification_id, unit_id, case_id, kind, text)
    SELECT notification_id, recipient, case_id, kind, text FROM picked
    ON CONFLICT DO NOTHING
)
UPDATE outbox o SET delivered_at = clock_timestamp(), attempts = o.attempts + 1
FROM picked WHERE o.notification_id = picked.notification_id
RETURNING o.notification_id
"""
