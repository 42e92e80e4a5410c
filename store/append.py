"""The write path: each append is one call of the `rectify_append` function (migration 0008).

The client computes what only Python knows (hashes from the one canonical form, read-model rows, indicator
facts, notifications) and sends it as one JSON document; the database checks the stream heads, writes
everything and hands out positions in the call's own transaction. One round trip instead of ten.

To hash and to count facts the client needs each stream's head and its state before the append. This
process remembers both from its own last append to the stream (`Heads`); a stream it has not written
recently costs one extra read. A stale memory is harmless: the function refuses a head that moved.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg

from rectify.domain.accountability import ProceedingState
from rectify.domain.canonical import GENESIS_HASH, chain_hash
from rectify.domain.events import (
    EVENT_LIST_ADAPTER,
    PROCEEDING_PREFIX,
    Event,
    ProceedingEvent,
    StoredEvent,
    event_body,
)
from rectify.domain.indicators import facts_for, proceeding_facts
from rectify.domain.inspection import POINT_PREFIX, ROUND_PREFIX
from rectify.domain.notifications import notifications_for
from rectify.domain.points import PointState
from rectify.domain.rounds import RoundState
from rectify.domain.state import CaseState, fold
from rectify.store.projections import CaseRow, PointRow, ProceedingRow, RoundRow, StreamState, stream_row

#: Appends to many streams: (stream id, expected version, its new events, its state after them).
Batch = Sequence[tuple[str, int, Sequence[StoredEvent], StreamState]]
#: Streams that are not cases: their heads are read without folding (their writers hand over the state after).
_NOT_CASES = (PROCEEDING_PREFIX, POINT_PREFIX, ROUND_PREFIX)
#: SQLSTATE raised by `rectify_append` when a stream is no longer at the version the client built on.
STREAM_MOVED = "RX409"
CALL = "SELECT * FROM rectify_append($1::text::jsonb)"
#: The hash of a base read from a stream that is not at the wanted version: the function refuses it.
MOVED = "moved"


class ConcurrencyError(Exception):
    """Another writer appended to the case first: the expected version is stale."""

    def __init__(self, case_id: str, expected: int, actual: int) -> None:
        self.case_id, self.expected, self.actual = case_id, expected, actual
        super().__init__(f"case {case_id}: expected version {expected}, but the store has version {actual}")


class EventConflict(Exception):
    """Event ids already stored with other content, or only part of a batch stored: never silently merged."""


@dataclass(frozen=True)
class AppendResult:
    case_id: str
    last_version: int
    last_position: int
    last_hash: str
    duplicate: bool


@dataclass(frozen=True)
class Base:
    """What an append builds on: the stream's head hash and its state at `version` (None for a new stream)."""

    version: int
    hash: str
    state: StreamState | None


class Heads:
    """The heads this process last wrote, most recent last; bounded so a long run's memory stays flat."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._heads: OrderedDict[str, Base] = OrderedDict()

    def get(self, stream_id: str, version: int) -> Base | None:
        if version == 0:
            return Base(0, GENESIS_HASH, None)
        base = self._heads.get(stream_id)
        if base is None or base.version != version:
            return None
        self._heads.move_to_end(stream_id)
        return base

    def put(self, stream_id: str, base: Base) -> None:
        self._heads[stream_id] = base
        self._heads.move_to_end(stream_id)
        while len(self._heads) > self.size:
            self._heads.popitem(last=False)

    def forget(self, stream_ids: Sequence[str]) -> None:
        for stream_id in stream_ids:
            self._heads.pop(stream_id, None)


def check_batch(batch: Batch) -> None:
    case_ids = [case_id for case_id, *_ in batch]
    if len(set(case_ids)) != len(case_ids):
        raise ValueError("a batch may name each case once")
    for case_id, expected, events, _ in batch:
        versions = [e.version for e in events]
        if not events or versions != list(range(expected + 1, expected + 1 + len(events))):
            raise ValueError(f"case {case_id}: event versions {versions} do not follow version {expected}")
        if any(e.case_id != case_id for e in events):
            raise ValueError(f"case {case_id}: an event of another case is in the batch")


async def read_bases(conn: asyncpg.Connection | asyncpg.Pool, wanted: dict[str, int]) -> dict[str, Base]:
    """Each stream's head and folded state, read from the store. A stream not at the wanted version gets a
    base the function will refuse (or answer as a duplicate), so the error names the store's real version."""
    rows = await conn.fetch(
        "SELECT case_id, version, hash, body FROM events WHERE case_id = ANY($1::text[]) ORDER BY case_id, version",
        list(wanted),
    )
    streams: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        streams.setdefault(row["case_id"], []).append(row)
    bases = {}
    for stream_id, version in wanted.items():
        stored = streams.get(stream_id, [])
        if len(stored) != version:
            bases[stream_id] = Base(version, MOVED, None)
        elif stream_id.startswith(_NOT_CASES):
            bases[stream_id] = Base(version, stored[-1]["hash"], None)
        else:
            case_events = EVENT_LIST_ADAPTER.validate_python([r["body"] for r in stored])
            bases[stream_id] = Base(version, stored[-1]["hash"], fold(case_events))
    return bases


def payload(batch: Batch, bases: dict[str, Base]) -> tuple[str, dict[str, Base]]:
    """The JSON document `rectify_append` takes, and each stream's head as it will be after the append."""
    streams, events, cases, proceedings, points, rounds, facts, notes = [], [], [], [], [], [], [], []
    after: dict[str, Base] = {}
    for case_id, expected, batch_events, state_after in batch:
        base = bases[case_id]
        streams.append({"case_id": case_id, "expected": expected, "prev_hash": base.hash})
        prev = base.hash
        for event in batch_events:
            body = event_body(event)
            digest = chain_hash(prev, body)
            events.append(
                {
                    "case_id": case_id,
                    "version": event.version,
                    "event_id": event.event_id,
                    "type": event.type,
                    "body": body,
                    "actor_unit": event.actor.unit_id,
                    "actor_role": event.actor.role.value,
                    "occurred_at": event.occurred_at,
                    "causation_id": event.causation_id,
                    "correlation_id": event.correlation_id,
                    "schema_version": event.schema_version,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        after[case_id] = Base(batch_events[-1].version, prev, state_after)
        row = stream_row(state_after)
        match row:
            case CaseRow():
                cases.append(row.model_dump())
            case ProceedingRow():
                proceedings.append(row.model_dump())
            case PointRow():
                points.append(row.model_dump())
            case RoundRow():
                rounds.append(row.model_dump())
        if isinstance(state_after, PointState | RoundState):
            continue  # an inspection's streams have no unit facts and send no notices
        if isinstance(state_after, ProceedingState):
            facts += proceeding_facts(cast("Sequence[ProceedingEvent]", batch_events))  # a proceeding's own
            recipient = state_after.unit
        else:
            if base.hash != MOVED:  # on a moved stream the call is refused or answered from what is stored
                before = base.state if isinstance(base.state, CaseState) else None
                facts += facts_for(before, cast("Sequence[Event]", batch_events))  # a case's own stream
            recipient = state_after.lead_unit
        notes += [n.model_dump() for n in notifications_for(batch_events, recipient)]
    # Rows in id order, so concurrent batches lock them in the same order and never deadlock.
    cases.sort(key=lambda row: row["case_id"])
    proceedings.sort(key=lambda row: row["proceeding_id"])
    points.sort(key=lambda row: row["point_id"])
    rounds.sort(key=lambda row: row["round_id"])
    document = {
        "streams": streams,
        "events": events,
        "cases": cases,
        "proceedings": proceedings,
        "points": points,
        "rounds": rounds,
        "facts": [f.model_dump() for f in facts],
        "notes": notes,
    }
    return json.dumps(document, ensure_ascii=False, default=_json_default), after


def duplicates(batch: Batch, stored: Sequence[asyncpg.Record]) -> dict[str, AppendResult]:
    """The appends of `batch` already stored, as their stored result; any partial or different match is a
    conflict, never merged."""
    by_id = {r["event_id"]: r for r in stored}
    found: dict[str, AppendResult] = {}
    for case_id, _, events, _ in batch:
        hits = [hit for e in events if (hit := by_id.get(e.event_id)) is not None]
        if not hits:
            continue
        if len(hits) != len(events) or any(
            h["body"] != event_body(e) or h["case_id"] != case_id for h, e in zip(hits, events, strict=True)
        ):
            raise EventConflict(f"case {case_id}: event ids already stored with other content or only in part")
        last = hits[-1]
        found[case_id] = AppendResult(case_id, last["version"], last["position"], last["hash"], duplicate=True)
    return found


def written(stored: Sequence[asyncpg.Record]) -> dict[str, AppendResult]:
    last: dict[str, AppendResult] = {}
    for r in stored:
        if r["case_id"] not in last or r["version"] > last[r["case_id"]].last_version:
            last[r["case_id"]] = AppendResult(r["case_id"], r["version"], r["position"], r["hash"], False)
    return last


def moved(error: asyncpg.PostgresError) -> dict[str, Any] | None:
    """The stream head named by a `rectify_append` refusal, or None for any other error."""
    if getattr(error, "sqlstate", None) != STREAM_MOVED:
        return None
    return json.loads(getattr(error, "detail", None) or "{}")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to the store")
