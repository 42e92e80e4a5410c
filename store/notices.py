"""Notices on their way to the units' channels (migration 0013): the SQL behind channels/relay.py and
`rectify notices` / `rectify channels`.

- *fan out*: each outbox notice not yet considered gets its facts and one `notice_deliveries` row per
  channel that takes it, in one transaction (SKIP LOCKED, so relays on several workers share the work);
- *claim*: due deliveries are leased to one relay (SKIP LOCKED, committed), so no two send the same one;
- *record*: the attempt (append-only), the delivery's next step and a dead letter, in one transaction,
  applied only while the lease is still the caller's;
- circuits: one row per channel, changed under its row lock.

Times come from the database's clock, so every worker agrees on what is due. The store knows channels only
by id: which channels take a notice is the caller's `route`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from rectify.domain.events import PROCEEDING_PREFIX, StoredEvent, parse_event
from rectify.domain.notifications import NoticeFacts, Notification, notice_facts
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState, fold
from rectify.domain.types import Frozen
from rectify.store.connection import Conn
from rectify.store.streams import stream_bodies

#: The LISTEN/NOTIFY channel that wakes the relays (the outbox's trigger, and an operator's retry).
WAKE = "rectify_notices"
#: The columns of an attempt, as channels.outcome.Attempt names them.
ATTEMPT_FIELDS = ("outcome", "status", "reason", "started_at", "elapsed_ms")
NOTE_COLUMNS = ("notification_id", "case_id", "event_id", "recipient", "kind", "text")


class Due(Frozen):
    """A delivery leased to the caller until `lease_until`; `lease` proves it when the result is recorded."""

    notification_id: str
    channel_id: str
    failures: int
    first_at: datetime | None
    facts: dict[str, Any] | None
    lease: str
    lease_until: datetime


class Outcome(Frozen):
    """Where a delivery goes after a try (or a wait behind an open circuit)."""

    state: str  # pending | delivered | dead
    failures: int
    first_at: datetime | None
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    #: For `dead`: why, and when it was given up.
    reason: str | None = None
    failed_at: datetime | None = None


class DeadLetterRow(Frozen):
    id: int
    notification_id: str
    channel_id: str
    recipient: str
    case_id: str
    kind: str
    reason: str
    attempts: int
    failed_at: datetime
    retried_at: datetime | None
    retried_by: str | None


class AttemptRow(Frozen):
    id: int
    notification_id: str
    channel_id: str
    outcome: str
    status: int | None
    reason: str
    started_at: datetime
    elapsed_ms: float
    worker: str | None
    recorded_at: datetime


class ChannelCounts(Frozen):
    channel_id: str
    pending: int = 0
    delivered: int = 0
    dead: int = 0
    last_delivered_at: datetime | None = None
    circuit: dict[str, Any] | None = None


Route = Callable[[NoticeFacts], Sequence[str]]


class NoticeStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # -- fan out -----------------------------------------------------------------------------------------
    async def fan_out(self, policy: Policy, route: Route, units: Collection[str], *, limit: int = 200) -> int:
        """Make the deliveries of up to `limit` notices not yet considered; returns how many were considered.

        Only notices to `units` (those with a channel) get facts, worked out from the stored events; the rest
        are stamped and left to the inboxes.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT {', '.join(NOTE_COLUMNS)} FROM outbox "
                "WHERE channels_at IS NULL ORDER BY created_at, notification_id LIMIT $1 FOR UPDATE SKIP LOCKED",
                limit,
            )
            if not rows:
                return 0
            wanted = [r for r in rows if r["recipient"] in units]
            facts = await _facts(conn, wanted, policy) if wanted else {}
            stamped = [(r["notification_id"], facts.get(r["notification_id"])) for r in rows]
            await conn.executemany(
                "UPDATE outbox SET facts = $2::jsonb, channels_at = clock_timestamp() WHERE notification_id = $1",
                [(notice_id, f.model_dump(mode="json") if f else None) for notice_id, f in stamped],
            )
            deliveries = [(notice_id, channel) for notice_id, f in stamped if f for channel in route(f)]
            if deliveries:
                await conn.executemany(
                    "INSERT INTO notice_deliveries (notification_id, channel_id) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING",
                    deliveries,
                )
            return len(rows)

    # -- claim and record --------------------------------------------------------------------------------
    async def claim(self, worker: str, *, limit: int, lease: timedelta) -> list[Due]:
        """Lease up to `limit` due deliveries to `worker`, soonest due first."""
        token = f"{worker}/{uuid.uuid4().hex[:12]}"
        rows = await self.pool.fetch(
            """
            WITH due AS (
                SELECT notification_id, channel_id FROM notice_deliveries
                WHERE state = 'pending' AND next_at <= clock_timestamp()
                  AND (lease_until IS NULL OR lease_until <= clock_timestamp())
                ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED
            )
            UPDATE notice_deliveries d SET lease_until = clock_timestamp() + $2::interval, leased_by = $3
            FROM due WHERE d.notification_id = due.notification_id AND d.channel_id = due.channel_id
            RETURNING d.notification_id, d.channel_id, d.failures, d.first_at, d.leased_by AS lease, d.lease_until,
                      (SELECT o.facts FROM outbox o WHERE o.notification_id = d.notification_id) AS facts
            """,
            limit,
            lease,
            token,
        )
        return [Due(**dict(r)) for r in rows]

    async def record(self, due: Due, outcome: Outcome, attempt: Mapping[str, Any] | None, worker: str) -> bool:
        """One delivery's try and next step (see `record_many`); False when the lease was lost."""
        return bool(await self.record_many([(due, outcome, attempt)], worker))

    async def record_many(
        self, results: Sequence[tuple[Due, Outcome, Mapping[str, Any] | None]], worker: str
    ) -> set[tuple[str, str]]:
        """Each try (if one was made), each delivery's next step and its dead letter, in one statement.

        A step is applied only while the delivery's lease is still the one it was claimed with; returns the
        deliveries moved (one missing: its lease was lost to another relay, whose try counts; the attempt is
        kept all the same, as the record of what was sent).
        """
        if not results:
            return set()
        rows = [
            {
                "notification_id": due.notification_id,
                "channel_id": due.channel_id,
                "lease": due.lease,
                **{k: _text(v) for k, v in outcome.model_dump().items()},
                **({f"attempt_{k}": _text(attempt[k]) for k in ATTEMPT_FIELDS} if attempt is not None else {}),
            }
            for due, outcome, attempt in results
        ]
        moved = await self.pool.fetch(_RECORD, rows, worker)
        return {(r["notification_id"], r["channel_id"]) for r in moved}

    async def renew(self, lease: str, length: timedelta) -> int:
        """Extend the leases of one claim that are still pending; returns how many."""
        return await self.pool.fetchval(
            "WITH renewed AS (UPDATE notice_deliveries SET lease_until = clock_timestamp() + $2::interval "
            "WHERE leased_by = $1 AND state = 'pending' RETURNING 1) SELECT count(*) FROM renewed",
            lease,
            length,
        )

    async def due_in(self) -> float | None:
        """Seconds until the earliest pending delivery may go (its lease, if leased, ends first); None: none."""
        return await self.pool.fetchval(
            "SELECT extract(epoch FROM min(greatest(next_at, coalesce(lease_until, next_at))) - clock_timestamp())"
            "::float8 FROM notice_deliveries WHERE state = 'pending'"
        )

    # -- circuits ----------------------------------------------------------------------------------------
    async def circuits(self, channel_ids: Collection[str] | None = None) -> dict[str, dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT channel_id, state, failures, opened_at, probe_at FROM channel_circuits "
            "WHERE $1::text[] IS NULL OR channel_id = ANY($1::text[])",
            None if channel_ids is None else list(channel_ids),
        )
        return {r["channel_id"]: dict(r) for r in rows}

    async def change_circuit(
        self, channel_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """`change` the channel's circuit under its row lock (a closed circuit when it has no row yet)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO channel_circuits (channel_id) VALUES ($1) ON CONFLICT DO NOTHING", channel_id
            )
            row = await conn.fetchrow(
                "SELECT channel_id, state, failures, opened_at, probe_at FROM channel_circuits "
                "WHERE channel_id = $1 FOR UPDATE",
                channel_id,
            )
            new = change(dict(row))
            if new != dict(row):
                await conn.execute(
                    "UPDATE channel_circuits SET state = $2, failures = $3, opened_at = $4, probe_at = $5, "
                    "updated_at = clock_timestamp() WHERE channel_id = $1",
                    channel_id,
                    new["state"],
                    new["failures"],
                    new["opened_at"],
                    new["probe_at"],
                )
            return new

    async def close_circuit(self, channel_id: str) -> None:
        """The endpoint answered: closed with no failures. Writes (and locks) only a circuit that was not."""
        await self.pool.execute(
            "UPDATE channel_circuits SET state = 'closed', failures = 0, opened_at = NULL, probe_at = NULL, "
            "updated_at = clock_timestamp() WHERE channel_id = $1 AND (state <> 'closed' OR failures <> 0)",
            channel_id,
        )

    # -- operators ---------------------------------------------------------------------------------------
    async def dead_letters(
        self, *, unit: str | None = None, channel: str | None = None, include_retried: bool = False
    ) -> list[DeadLetterRow]:
        rows = await self.pool.fetch(
            "SELECT l.*, o.recipient, o.case_id, o.kind FROM notice_dead_letters l "
            "JOIN outbox o USING (notification_id) "
            "WHERE ($1::text IS NULL OR o.recipient = $1) AND ($2::text IS NULL OR l.channel_id = $2) "
            "AND ($3 OR l.retried_at IS NULL) ORDER BY l.failed_at, l.id",
            unit,
            channel,
            include_retried,
        )
        return [DeadLetterRow(**dict(r)) for r in rows]

    async def open_dead_letters(self, newest: int) -> tuple[int, list[DeadLetterRow]]:
        """How many dead letters wait for a retry, counted in SQL, and the `newest` latest of them, latest first."""
        total = await self.pool.fetchval("SELECT count(*) FROM notice_dead_letters WHERE retried_at IS NULL")
        rows = await self.pool.fetch(
            "SELECT l.*, o.recipient, o.case_id, o.kind FROM notice_dead_letters l JOIN outbox o USING "
            "(notification_id) WHERE l.retried_at IS NULL ORDER BY l.failed_at DESC, l.id DESC LIMIT $1",
            newest,
        )
        return total, [DeadLetterRow(**dict(r)) for r in rows]

    async def retry(self, *, by: str, letter_id: int | None = None, channel: str | None = None) -> list[int]:
        """Put dead letters (one by id, or every open one of a channel) back to pending, afresh, and wake the
        relays. Returns the ids retried (none: no such open dead letter)."""
        async with self.pool.acquire() as conn, conn.transaction():
            letters = await conn.fetch(
                "UPDATE notice_dead_letters SET retried_at = clock_timestamp(), retried_by = $3 "
                "WHERE retried_at IS NULL AND (id = $1 OR channel_id = $2) RETURNING id, notification_id, channel_id",
                letter_id,
                channel,
                by,
            )
            await conn.executemany(
                "UPDATE notice_deliveries SET state = 'pending', failures = 0, first_at = NULL, "
                "next_at = clock_timestamp(), lease_until = NULL, leased_by = NULL "
                "WHERE notification_id = $1 AND channel_id = $2 AND state = 'dead'",
                [(r["notification_id"], r["channel_id"]) for r in letters],
            )
            if letters:
                await conn.execute("SELECT pg_notify($1, '')", WAKE)
            return sorted(r["id"] for r in letters)

    async def attempts(self, notification_id: str) -> list[AttemptRow]:
        rows = await self.pool.fetch(
            "SELECT * FROM notice_attempts WHERE notification_id = $1 ORDER BY started_at, id", notification_id
        )
        return [AttemptRow(**dict(r)) for r in rows]

    async def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM notice_deliveries WHERE notification_id = $1 ORDER BY channel_id", notification_id
        )
        return [dict(r) for r in rows]

    async def channel_counts(self) -> dict[str, ChannelCounts]:
        """Per channel: deliveries by state, the last delivery, and the circuit (channels with any record)."""
        rows = await self.pool.fetch(
            "SELECT channel_id, count(*) FILTER (WHERE state = 'pending') AS pending, "
            "count(*) FILTER (WHERE state = 'delivered') AS delivered, count(*) FILTER (WHERE state = 'dead') AS dead, "
            "max(delivered_at) AS last_delivered_at FROM notice_deliveries GROUP BY channel_id"
        )
        counts = {r["channel_id"]: ChannelCounts(**dict(r)) for r in rows}
        for channel_id, circuit in (await self.circuits()).items():
            base = counts.get(channel_id) or ChannelCounts(channel_id=channel_id)
            counts[channel_id] = base.model_copy(update={"circuit": circuit})
        return counts

    async def backlog(self) -> dict[str, int]:
        """Outbox notices not yet fanned out, deliveries pending, dead letters not retried."""
        row = await self.pool.fetchrow(
            "SELECT (SELECT count(*) FROM outbox WHERE channels_at IS NULL) AS outbox, "
            "(SELECT count(*) FROM notice_deliveries WHERE state = 'pending') AS pending, "
            "(SELECT count(*) FROM notice_dead_letters WHERE retried_at IS NULL) AS dead"
        )
        return dict(row)

    async def listen(self, database_url: str, wake: Callable[[], None]) -> asyncpg.Connection:
        """A connection of its own that calls `wake` on every notification (the caller closes it)."""
        conn = await asyncpg.connect(database_url)
        await conn.add_listener(WAKE, lambda *_: wake())
        return conn


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


_RECORD = """
WITH given AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS g(
        notification_id text, channel_id text, lease text, state text, failures integer, first_at timestamptz,
        next_at timestamptz, delivered_at timestamptz, reason text, failed_at timestamptz, attempt_outcome text,
        attempt_status integer, attempt_reason text, attempt_started_at timestamptz, attempt_elapsed_ms float8)
), tried AS (
    INSERT INTO notice_attempts (notification_id, channel_id, outcome, status, reason, started_at, elapsed_ms, worker)
    SELECT notification_id, channel_id, attempt_outcome, attempt_status, attempt_reason, attempt_started_at,
           attempt_elapsed_ms, $2
    FROM given WHERE attempt_outcome IS NOT NULL
), moved AS (
    UPDATE notice_deliveries d SET state = g.state, failures = g.failures, first_at = g.first_at,
        next_at = coalesce(g.next_at, d.next_at), delivered_at = g.delivered_at, lease_until = NULL, leased_by = NULL
    FROM given g
    WHERE d.notification_id = g.notification_id AND d.channel_id = g.channel_id AND d.leased_by = g.lease
      AND d.state = 'pending'
    RETURNING d.notification_id, d.channel_id, d.state
), dead AS (
    INSERT INTO notice_dead_letters (notification_id, channel_id, reason, attempts, failed_at)
    SELECT g.notification_id, g.channel_id, coalesce(g.reason, ''), g.failures, g.failed_at
    FROM moved m JOIN given g USING (notification_id, channel_id) WHERE m.state = 'dead'
)
SELECT notification_id, channel_id FROM moved
"""


async def _facts(conn: Conn, rows: Sequence[asyncpg.Record], policy: Policy) -> dict[str, NoticeFacts]:
    """Each notice's facts, from its stream read back: the case after the event's batch (the events that
    follow it with the same cause), or for a proceeding's notice the subject case as it stands."""
    streams = await _streams(conn, {r["case_id"] for r in rows})
    subjects: dict[str, str] = {}
    for r in rows:
        if r["case_id"].startswith(PROCEEDING_PREFIX):
            event = next((e for e in streams.get(r["case_id"], []) if e.event_id == r["event_id"]), None)
            if subject := getattr(event, "subject_case_id", None):
                subjects[r["notification_id"]] = subject
    streams |= await _streams(conn, set(subjects.values()) - set(streams))
    found: dict[str, NoticeFacts] = {}
    for r in rows:
        events = streams.get(r["case_id"], [])
        at = next((i for i, e in enumerate(events) if e.event_id == r["event_id"]), None)
        if at is None:  # an outbox row with no event: nothing to word it from but its own line
            continue
        note = Notification(**{k: r[k] for k in NOTE_COLUMNS})
        case: CaseState | None
        if subject := subjects.get(r["notification_id"]):
            case = fold(streams.get(subject, []))  # type: ignore[arg-type]
        elif r["case_id"].startswith(PROCEEDING_PREFIX):
            case = None
        else:
            end = at + 1
            while end < len(events) and events[end].causation_id == events[at].causation_id:
                end += 1
            case = fold(events[:end])  # type: ignore[arg-type]
        found[r["notification_id"]] = notice_facts(note, events[at], case, policy)  # type: ignore[arg-type]
    return found


async def _streams(conn: Conn, stream_ids: set[str]) -> dict[str, list[StoredEvent]]:
    return {k: [parse_event(b) for b in bodies] for k, bodies in (await stream_bodies(conn, stream_ids)).items()}
