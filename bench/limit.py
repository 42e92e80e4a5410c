"""The limit: every row Rectify writes for a command, written by hand with asyncpg in one round trip.

Same database as Rectify's (its migrations, so the same tables, indexes, constraints and triggers), the same
rows and the same guarantees, and nothing else:

- each event with its hash (the one canonical form, hashed once and sent as the stored body, so it is
  serialised once) and its seal (`rectify_seal`, migration 0009, after the position lock);
- gap-free global positions under the same advisory lock, so positions appear in commit order;
- the stream's head checked (a new stream by the unique (case_id, version) key, an existing one by its last
  event's hash);
- the case read-model row (upserted), the unit facts, the outbox rows already delivered and the unit inbox
  rows (what the case workflow's append and its delivery leave behind).

The client sends typed arrays of the tables' own row types (binary, no JSON document) to a bare PL/pgSQL
function: no framework, no pydantic dumps, no head memory. Its rows are checked afterwards: the limit's
database must pass `rectify audit verify` and hold as many rows in each table as Rectify's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import asyncpg

from rectify.domain.canonical import GENESIS_HASH, canonical_json
from rectify.domain.events import Event, event_body
from rectify.domain.indicators import facts_for
from rectify.domain.notifications import notifications_for
from rectify.domain.state import CaseState
from rectify.store.connection import Conn
from rectify.store.projections import case_row

#: The position lock rectify_append takes (migrations 0008/0009); the limit takes the same one.
POSITION_LOCK = 7_310_425_002
TABLES = ("events", "cases", "unit_facts", "outbox", "inbox")


async def columns(conn: Conn, table: str) -> list[str]:
    """A table's columns in row-type order (what a composite value of its type lists)."""
    rows = await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        table,
    )
    return [r["attname"] for r in rows]


def _function(case_columns: list[str]) -> str:
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in case_columns if c != "case_id")
    return f"""
CREATE OR REPLACE FUNCTION bench_limit_append(ev events[], cs cases[], fa unit_facts[], nt outbox[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    last_ record;
    head_ record;
    base_ bigint;
    at_ timestamptz;
    prev_ text;
    stream_ text;
    seals_ text[] := ARRAY[]::text[];
BEGIN
    INSERT INTO cases SELECT * FROM unnest(cs) ON CONFLICT (case_id) DO UPDATE SET {updates};
    INSERT INTO unit_facts SELECT * FROM unnest(fa) ON CONFLICT DO NOTHING;
    INSERT INTO outbox (notification_id, case_id, event_id, recipient, kind, text, attempts, delivered_at)
        SELECT n.notification_id, n.case_id, n.event_id, n.recipient, n.kind, n.text, 1, clock_timestamp()
        FROM unnest(nt) n ON CONFLICT DO NOTHING;
    INSERT INTO inbox (notification_id, unit_id, case_id, kind, text)
        SELECT n.notification_id, n.recipient, n.case_id, n.kind, n.text FROM unnest(nt) n ON CONFLICT DO NOTHING;

    PERFORM pg_advisory_xact_lock({POSITION_LOCK});
    SELECT x.position, x.recorded_at INTO last_ FROM events x ORDER BY x.position DESC LIMIT 1;
    base_ := coalesce(last_.position, 0);
    at_ := greatest(clock_timestamp(), last_.recorded_at);
    FOR i IN 1 .. coalesce(array_length(ev, 1), 0) LOOP
        IF stream_ IS DISTINCT FROM ev[i].case_id THEN
            stream_ := ev[i].case_id;
            prev_ := repeat('0', 64);
            IF ev[i].version > 1 THEN
                SELECT e.hash, e.seal INTO head_ FROM events e
                WHERE e.case_id = ev[i].case_id AND e.version = ev[i].version - 1;
                IF NOT FOUND OR head_.hash <> ev[i].prev_hash THEN
                    RAISE EXCEPTION 'stream % moved', ev[i].case_id USING ERRCODE = 'RX409';
                END IF;
                prev_ := head_.seal;
            END IF;
        END IF;
        prev_ := rectify_seal(prev_, base_ + i, at_, ev[i].hash);
        seals_[i] := prev_;
    END LOOP;
    INSERT INTO events (position, case_id, version, event_id, type, body, actor_unit, actor_role, occurred_at,
                        recorded_at, causation_id, correlation_id, schema_version, prev_hash, hash, seal)
        SELECT base_ + n.ord, n.case_id, n.version, n.event_id, n.type, n.body, n.actor_unit, n.actor_role,
               n.occurred_at, at_, n.causation_id, n.correlation_id, n.schema_version, n.prev_hash, n.hash,
               seals_[n.ord]
        FROM unnest(ev) WITH ORDINALITY AS n(position, case_id, version, event_id, type, body, actor_unit,
                                             actor_role, occurred_at, recorded_at, causation_id, correlation_id,
                                             schema_version, prev_hash, hash, seal, ord);
    RETURN base_ + coalesce(array_length(ev, 1), 0);
END $$;
"""


class Limit:
    """The hand-written writer, bound to one database already migrated by Rectify's migrations."""

    CALL = "SELECT bench_limit_append($1::events[], $2::cases[], $3::unit_facts[], $4::outbox[])"

    def __init__(self, layout: dict[str, list[str]]) -> None:
        self.layout = layout

    @classmethod
    async def install(cls, conn: Conn) -> Limit:
        layout = {table: await columns(conn, table) for table in TABLES}
        expected = ["position", "case_id", "version", "event_id", "type", "body", "actor_unit", "actor_role"]
        if layout["events"][: len(expected)] != expected or layout["events"][-1] != "seal":
            # the function's unnest() names the columns of `events` in order: a changed table must change it too
            raise RuntimeError(f"the events table changed ({layout['events']}): update bench/limit.py")
        await conn.execute(_function(layout["cases"]))
        return cls(layout)

    def _tuple(self, table: str, values: dict[str, Any]) -> tuple:
        return tuple(values.get(column) for column in self.layout[table])

    def arguments(self, events: Sequence[Event], state: CaseState, before: CaseState | None = None) -> tuple:
        """The call's four arrays for one command's events on a stream (a new one unless `before` is given)."""
        prev = GENESIS_HASH
        rows = []
        for event in events:
            text = canonical_json(event_body(event))
            digest = hashlib.sha256(prev.encode("ascii") + text).hexdigest()
            rows.append(
                self._tuple(
                    "events",
                    {
                        "case_id": event.case_id,
                        "version": event.version,
                        "event_id": event.event_id,
                        "type": event.type,
                        "body": text.decode("utf-8"),
                        "actor_unit": event.actor.unit_id,
                        "actor_role": event.actor.role.value,
                        "occurred_at": event.occurred_at,
                        "causation_id": event.causation_id,
                        "correlation_id": event.correlation_id,
                        "schema_version": event.schema_version,
                        "prev_hash": prev,
                        "hash": digest,
                    },
                )
            )
            prev = digest
        case = case_row(state)
        cases = [tuple(getattr(case, column, None) for column in self.layout["cases"])]
        facts = [self._tuple("unit_facts", vars(f)) for f in facts_for(before, events)]
        notes = [self._tuple("outbox", vars(n)) for n in notifications_for(events, state.lead_unit)]
        return rows, cases, facts, notes

    async def append(self, conn: Conn | asyncpg.Pool, events: Sequence[Event], state: CaseState) -> int:
        """Write one command's rows; returns the last event's position."""
        position = await conn.fetchval(self.CALL, *self.arguments(events, state))
        assert position is not None  # the function returns the position it gave the last event
        return position


async def row_counts(conn: Conn | asyncpg.Pool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        n = await conn.fetchval(f"SELECT count(*) FROM {table}")
        assert n is not None  # count(*) is never NULL
        counts[table] = n
    return counts
