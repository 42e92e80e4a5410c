"""One ordered pass over the record for the audit and the rebuild: every chain checked, every stream folded.

Each event is decoded and parsed once; the same parse feeds the chain check and the fold that rebuilds
the read-model row and indicator facts. A large store is split into ranges of stream ids scanned by
separate processes, each with its own connection, because the work is Python-bound (JSON, SHA-256,
validation) and one process uses one core.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from rectify.domain.accountability import fold_proceeding
from rectify.domain.canonical import GENESIS_HASH, SealCheck
from rectify.domain.events import PROCEEDING_PREFIX, parse_event
from rectify.domain.indicators import Fact, facts_and_state, proceeding_facts
from rectify.domain.inspection import POINT_PREFIX, ROUND_PREFIX
from rectify.domain.points import fold_point
from rectify.domain.rounds import fold_round
from rectify.domain.types import Frozen
from rectify.store import fastpath
from rectify.store.connection import Conn, init_connection
from rectify.store.projections import (
    StreamRow,
    case_row,
    point_row,
    proceeding_row,
    round_row,
)
from rectify.store.read_model_diff import FACT_FIELDS, Range, ReadModelDiff, diff
from rectify.store.rowcheck import BODY_COLUMNS, column_problems

#: Rows fetched per round trip when the audit and the rebuild scan the whole store.
PREFETCH = 2000
#: Below this many events a scan stays in this process: starting others costs more than it saves.
PARALLEL_FROM = 100_000
#: Every column of `events`: the audit reads each one, and each is covered (docs/audit.md).
COLUMNS = ("position", "body", "recorded_at", "prev_hash", "hash", "seal", *BODY_COLUMNS)


def _select(alias: str = "") -> str:
    """The columns to read, the body as its JSON text (decoded here, faster than through the codec)."""
    return ", ".join(f"{alias}body::text AS body" if c == "body" else f"{alias}{c}" for c in COLUMNS)


class ChainProblem(Frozen):
    case_id: str
    version: int | None
    problem: str


@dataclass
class Scan:
    """What one pass found: chain problems, and each stream's rebuilt row (None if it no longer folds)."""

    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    rows: dict[str, StreamRow | None] = field(default_factory=dict)
    facts: set[tuple] = field(default_factory=set)
    #: When the pass does not fold (the incremental verify's): each stream's events read, as (position, version,
    #: hash, seal), and its event before the first read (its head at the checkpoint it starts after).
    tails: dict[str, list[tuple[int, int, str, str]]] = field(default_factory=dict)
    seeds: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    #: The incremental verify's rows read, as read (in stream order): its pass in position order sorts them rather
    #: than reading the same rows a second time.
    read: list[asyncpg.Record] = field(default_factory=list)


def fact_key(fact: Fact) -> tuple:
    return tuple(getattr(fact, name) for name in FACT_FIELDS)


_NO_BODY = object()  # the cause of a row whose body was not a JSON object: matches no other


class _Stream:
    """The stream being read: the last row seen, the events parsed so far and its seal chain.

    With `checks` every event is checked (the audit); without, only parsed and folded (the rebuild, which trusts
    the audit for the chains). With `fold` off (the incremental verify, which starts a stream part-way) the events
    are checked against their rows but not parsed into events, and no read-model row is made.
    """

    def __init__(self, scan: Scan, *, checks: bool = True, fold: bool = True) -> None:
        self.scan, self.checks, self.fold = scan, checks, fold
        self.case_id: str | None = None
        self.seals = SealCheck()
        self._start(None, None)

    def _start(self, case_id: str | None, before: asyncpg.Record | None) -> None:
        """A new stream, from version 1, or after `before` (its event just before those to check)."""
        self.case_id, self.last, self.before = case_id, before, before
        self.last_cause: object = _NO_BODY
        self.index = 0
        if before is not None:  # its columns equal its body: the verify that recorded the checkpoint checked them
            self.last_cause, self.index = before["causation_id"], before["index"]
        self.events: list = []
        self.folds = True
        self.rows: list[asyncpg.Record] = []
        self.rehashed: set[int] = set()

    def finish(self) -> None:
        if self.case_id is None:
            return
        scan, events, rows = self.scan, self.events, self.rows
        if self.checks:
            for index, text in self.seals.breaks(rows, frozenset(self.rehashed), self.before):
                scan.problems.append(ChainProblem(case_id=self.case_id, version=rows[index]["version"], problem=text))
        if not self.fold:
            scan.tails[self.case_id] = [(r["position"], r["version"], r["hash"], r["seal"]) for r in rows]
            return
        try:
            if not self.folds:
                raise ValueError("a body is not a valid event")
            if self.case_id.startswith(PROCEEDING_PREFIX):
                proceeding = fold_proceeding(events)
                if proceeding is None:
                    raise ValueError("a proceeding without events")
                scan.rows[self.case_id] = proceeding_row(proceeding)
                scan.facts.update(fact_key(f) for f in proceeding_facts(events))
            elif self.case_id.startswith(POINT_PREFIX):
                point = fold_point(events)
                scan.rows[self.case_id] = point_row(point) if point else None
            elif self.case_id.startswith(ROUND_PREFIX):
                found = fold_round(events)
                scan.rows[self.case_id] = round_row(found) if found else None
            else:
                facts, state = facts_and_state(None, events)
                scan.rows[self.case_id] = case_row(state) if state else None
                scan.facts.update(fact_key(f) for f in facts)
        except (ValueError, TypeError):
            scan.rows[self.case_id] = None

    def seed(self, row: asyncpg.Record) -> None:
        """The stream's event just before the first to check: its links are taken as given (a checkpoint's)."""
        self.finish()
        self._start(row["case_id"], row)
        self.scan.seeds[row["case_id"]] = (row["version"], row["hash"], row["seal"])

    def check(self, row: asyncpg.Record) -> None:
        """The checks of one event: its chain link, its hash, its seal, and every column against its body."""
        case_id, body = row["case_id"], fastpath.decode(row["body"])
        if case_id != self.case_id:
            self.finish()
            self._start(case_id, None)
        if self.checks:
            self.rows.append(row)
            problems, body = self._problems(row, body)
            if problems:
                version = row["version"]
                self.scan.problems += [ChainProblem(case_id=case_id, version=version, problem=p) for p in problems]
        elif self.fold and not isinstance(body, dict):
            self.folds = False
        # A body is parsed into its event only to be folded: the incremental verify, which folds nothing, leaves the
        # parse (a valid event) to the full verify, as it leaves it the read models.
        if self.fold and self.folds and isinstance(body, dict):
            try:
                self.events.append(parse_event(body))
            except ValueError as error:
                if self.checks:
                    text = f"body is not a valid event: {str(error).splitlines()[0]}"
                    self.scan.problems.append(ChainProblem(case_id=case_id, version=row["version"], problem=text))
                self.folds = False

    def _problems(self, row: asyncpg.Record, body: Any) -> tuple[list[str], Any]:
        last, found = self.last, []
        expected = last["version"] + 1 if last is not None else 1
        if row["version"] != expected:
            found.append(f"version gap: expected {expected}")
        if row["prev_hash"] != (last["hash"] if last is not None else GENESIS_HASH):
            found.append("prev_hash does not link to the previous event")
        if last is not None and row["position"] <= last["position"]:
            found.append("global position not after the previous event")
        self.last = row
        if not isinstance(body, dict):
            found.append("body is not a JSON object")
            self.folds, self.last_cause = False, _NO_BODY
            return found, body
        hashed = fastpath.hash_matches(row["prev_hash"], body, row["hash"], row["body"])
        if hashed is None:
            found.append("hash does not match the stored body")
            self.rehashed.add(len(self.rows) - 1)
        else:
            body = hashed  # the body its hash was made over (the standard decoder's, if orjson's differs)
        found += column_problems(row, body)
        # Event ids derive from the command that caused them: a forged event rarely gets this right.
        cause = body.get("causation_id")
        self.index = self.index + 1 if self.last_cause is not _NO_BODY and cause == self.last_cause else 0
        self.last_cause = cause
        if row["event_id"] != fastpath.event_id(str(cause), self.index):
            found.append("event id is not derived from its command")
        return found, body


async def scan(conn: Conn, within: Range = Range(), *, checks: bool = True) -> Scan:
    """Read the events of a range of streams in stream order; check (unless not `checks`) and fold each."""
    where, args = within.where()
    query = f"SELECT {_select()} FROM events WHERE {where} ORDER BY case_id, version"
    found = Scan()
    stream = _Stream(found, checks=checks)
    async with conn.transaction(readonly=True):
        async for row in conn.cursor(query, *args, prefetch=PREFETCH):
            found.events += 1
            stream.check(row)
    stream.finish()
    return found


#: Each stream with events at positions in ($1, $2]: its event just before the first of them (its head at $1), with
#: the index of that event among its command's events when the next shares its command (a valid store never has
#: that). Narrow rows, one index probe per stream: what the day added, not the whole store.
_SEEDS = """
SELECT e.case_id, e.version, e.position, e.recorded_at, e.hash, e.seal, e.causation_id,
       CASE WHEN e.causation_id = t.cause THEN (SELECT count(*) FROM events x WHERE x.case_id = e.case_id
                                                AND x.version < e.version AND x.causation_id = e.causation_id)
            ELSE 0 END AS index
FROM (SELECT DISTINCT ON (case_id) case_id, version AS first, causation_id AS cause FROM events
      WHERE position > $1 AND position <= $2 ORDER BY case_id, version) t
CROSS JOIN LATERAL (
    SELECT * FROM events s WHERE s.case_id = t.case_id AND s.version = t.first - 1 LIMIT 1) e
"""


async def scan_after(conn: Conn, position: int, upto: int) -> Scan:
    """Check the events at positions in (position, upto], each stream from its event at or before `position`
    (taken as given: a verified checkpoint fixes it); neither parsed nor folded. Runs in the caller's transaction."""
    seeds = {row["case_id"]: row for row in await conn.fetch(_SEEDS, position, upto)}
    query = f"SELECT {_select()} FROM events WHERE position > $1 AND position <= $2 ORDER BY case_id, version"
    found = Scan()
    stream = _Stream(found, fold=False)
    async for row in conn.cursor(query, position, upto, prefetch=PREFETCH):
        if row["case_id"] != stream.case_id and (seed := seeds.get(row["case_id"])) is not None:
            stream.seed(seed)
        found.events += 1
        found.read.append(row)
        stream.check(row)
    stream.finish()
    return found


async def ranges(conn: Conn, parts: int) -> list[Range]:
    """`parts` ranges of stream ids holding about as many streams each."""
    if parts <= 1:
        return [Range()]
    fractions = [i / parts for i in range(1, parts)]
    bounds = await conn.fetchval(
        "SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY case_id) FROM events WHERE version = 1", fractions
    )
    edges = [None, *sorted(set(bounds or [])), None]
    return [Range(low, high) for low, high in itertools.pairwise(edges)]


def _scan_part(database_url: str, within: Range, keep: bool) -> tuple[Scan, ReadModelDiff]:
    """One process's share: scan and diff one range over its own connection (rows returned if `keep`: the
    rebuild's, which folds without checking the chains)."""

    async def run() -> tuple[Scan, ReadModelDiff]:
        conn = await asyncpg.connect(database_url)
        try:
            await init_connection(conn)
            found = await scan(conn, within, checks=not keep)
            changed = await diff(conn, found.rows, found.facts, within)
        finally:
            await conn.close()
        if not keep:
            found.rows, found.facts = {}, set()
        return found, changed

    return asyncio.run(run())


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


async def whole(
    pool: asyncpg.Pool,
    database_url: str | None,
    *,
    case_id: str | None = None,
    workers: int | None = None,
    keep: bool = False,
) -> tuple[Scan, ReadModelDiff]:
    """Every stream (or one) scanned and diffed; over `workers` processes when the store is large.

    With `keep` the rebuilt rows and facts come back too (the rebuild writes them) and the chains are not
    checked (the audit checks them); otherwise only the problems and differences, which is all the audit needs.
    """
    workers = workers or default_workers()
    async with pool.acquire() as conn:
        if case_id is None and database_url and workers > 1:
            size = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            if size >= PARALLEL_FROM:
                parts = await ranges(conn, workers)
                loop = asyncio.get_running_loop()
                # spawn, not fork: this process may hold Temporal's client threads and open connections
                context = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(len(parts), mp_context=context) as executor:
                    done = await asyncio.gather(
                        *(loop.run_in_executor(executor, _scan_part, database_url, part, keep) for part in parts)
                    )
                merged = Scan(events=sum(found.events for found, _ in done))
                for found, _ in done:
                    merged.problems += found.problems
                    merged.rows |= found.rows
                    merged.facts |= found.facts
                merged.problems.sort(key=lambda p: (p.case_id, p.version or 0))
                return merged, sum((changed for _, changed in done), ReadModelDiff())
        within = Range(only=case_id) if case_id else Range()
        found = await scan(conn, within, checks=not keep)
        return found, await diff(conn, found.rows, found.facts, within)


async def audit(
    pool: asyncpg.Pool, database_url: str | None, *, case_id: str | None = None, workers: int | None = None
) -> tuple[int, list[ChainProblem], ReadModelDiff]:
    """Chains and read models in one pass: how many events, the chain problems, the read-model differences."""
    found, changed = await whole(pool, database_url, case_id=case_id, workers=workers)
    return found.events, found.problems, changed
