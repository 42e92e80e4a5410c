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

import asyncpg
from pydantic import Field

from rectify.domain.accountability import fold_proceeding
from rectify.domain.canonical import GENESIS_HASH, SealCheck, chain_hash
from rectify.domain.decider import event_id
from rectify.domain.events import PROCEEDING_PREFIX, parse_event
from rectify.domain.indicators import Fact, facts_and_state, proceeding_facts
from rectify.domain.types import Frozen
from rectify.store.connection import init_connection
from rectify.store.projections import CaseRow, ProceedingRow, case_row, proceeding_row
from rectify.store.rowcheck import BODY_COLUMNS, column_problems

#: Rows fetched per round trip when the audit and the rebuild scan the whole store.
PREFETCH = 2000
#: Below this many events a scan stays in this process: starting others costs more than it saves.
PARALLEL_FROM = 100_000
FACT_FIELDS = ("event_id", "kind", "unit_id", "case_id", "at", "value")
#: Every column of `events`: the audit reads each one, and each is covered (docs/audit.md).
SCAN_COLUMNS = ", ".join(["position", "body", "recorded_at", "prev_hash", "hash", "seal", *BODY_COLUMNS])


class ChainProblem(Frozen):
    case_id: str
    version: int | None
    problem: str


class ReadModelDiff(Frozen):
    missing: list[str] = Field(default_factory=list)
    extra: list[str] = Field(default_factory=list)
    different: list[str] = Field(default_factory=list)
    #: Cases whose indicator facts (unit_facts) differ from a rebuild.
    facts_different: list[str] = Field(default_factory=list)
    #: For each stream in `different` the columns of its row that differ, and for each case in `facts_different`
    #: what differs in its facts (a column of a fact, or a fact missing or extra).
    columns: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.different or self.facts_different)

    def __add__(self, other: ReadModelDiff) -> ReadModelDiff:
        lists = {
            name: sorted(getattr(self, name) + getattr(other, name))
            for name in ReadModelDiff.model_fields
            if name != "columns"
        }
        return ReadModelDiff(**lists, columns=self.columns | other.columns)


@dataclass
class Scan:
    """What one pass found: chain problems, and each stream's rebuilt row (None if it no longer folds)."""

    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    rows: dict[str, CaseRow | ProceedingRow | None] = field(default_factory=dict)
    facts: set[tuple] = field(default_factory=set)


@dataclass(frozen=True)
class Range:
    """Stream ids in [low, high) (None is open), or the one stream `only`."""

    low: str | None = None
    high: str | None = None
    only: str | None = None

    def where(self, column: str = "case_id") -> tuple[str, list[str]]:
        """A SQL condition on `column` with its arguments, numbered from $1."""
        if self.only is not None:
            return f"{column} = $1", [self.only]
        bounds = [(op, value) for op, value in ((">=", self.low), ("<", self.high)) if value is not None]
        clauses = [f"{column} {op} ${i}" for i, (op, _) in enumerate(bounds, start=1)]
        return " AND ".join(clauses) or "true", [value for _, value in bounds]


def fact_key(fact: Fact) -> tuple:
    return tuple(getattr(fact, name) for name in FACT_FIELDS)


class _Stream:
    """The stream being read: the last row seen, the events parsed so far and its seal chain."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.case_id: str | None = None
        self.last: asyncpg.Record | None = None
        self.index = 0
        self.events: list = []
        self.folds = True
        self.rows: list[asyncpg.Record] = []
        self.rehashed: set[int] = set()
        self.seals = SealCheck()

    def finish(self) -> None:
        if self.case_id is None:
            return
        scan, events, rows = self.scan, self.events, self.rows
        for index, text in self.seals.breaks(rows, frozenset(self.rehashed)):
            scan.problems.append(ChainProblem(case_id=self.case_id, version=rows[index]["version"], problem=text))
        try:
            if not self.folds:
                raise ValueError("a body is not a valid event")
            if self.case_id.startswith(PROCEEDING_PREFIX):
                scan.rows[self.case_id] = proceeding_row(fold_proceeding(events))
                scan.facts.update(fact_key(f) for f in proceeding_facts(events))
            else:
                facts, state = facts_and_state(None, events)
                scan.rows[self.case_id] = case_row(state) if state else None
                scan.facts.update(fact_key(f) for f in facts)
        except (ValueError, TypeError):
            scan.rows[self.case_id] = None

    def check(self, row: asyncpg.Record) -> None:
        """The checks of one event: its chain link, its hash, its seal, and every column against its body."""
        case_id, version, body = row["case_id"], row["version"], row["body"]
        if case_id != self.case_id:
            self.finish()
            self.case_id, self.last, self.index, self.events, self.folds = case_id, None, 0, [], True
            self.rows, self.rehashed = [], set()
        self.rows.append(row)
        last = self.last
        problems = self.scan.problems

        def problem(text: str) -> None:
            problems.append(ChainProblem(case_id=case_id, version=version, problem=text))

        if version != (last["version"] + 1 if last else 1):
            problem(f"version gap: expected {last['version'] + 1 if last else 1}")
        if row["prev_hash"] != (last["hash"] if last else GENESIS_HASH):
            problem("prev_hash does not link to the previous event")
        if last and row["position"] <= last["position"]:
            problem("global position not after the previous event")
        self.last = row
        if not isinstance(body, dict):
            problem("body is not a JSON object")
            self.folds = False
            return
        if chain_hash(row["prev_hash"], body) != row["hash"]:
            problem("hash does not match the stored body")
            self.rehashed.add(len(self.rows) - 1)
        for text in column_problems(row, body):
            problem(text)
        # Event ids derive from the command that caused them: a forged event rarely gets this right.
        cause = body.get("causation_id")
        same_cause = last is not None and isinstance(last["body"], dict) and cause == last["body"].get("causation_id")
        self.index = self.index + 1 if same_cause else 0
        if row["event_id"] != event_id(str(cause), self.index):
            problem("event id is not derived from its command")
        try:
            self.events.append(parse_event(body))
        except ValueError as error:
            problem(f"body is not a valid event: {str(error).splitlines()[0]}")
            self.folds = False


async def scan(conn: asyncpg.Connection, within: Range = Range()) -> Scan:
    """Read the events of a range of streams in stream order; check and fold each."""
    where, args = within.where()
    query = f"SELECT {SCAN_COLUMNS} FROM events WHERE {where} ORDER BY case_id, version"
    found = Scan()
    stream = _Stream(found)
    async with conn.transaction(readonly=True):
        async for row in conn.cursor(query, *args, prefetch=PREFETCH):
            found.events += 1
            stream.check(row)
    stream.finish()
    return found


async def diff(conn: asyncpg.Connection, found: Scan, within: Range = Range()) -> ReadModelDiff:
    """The stored read models of the range against what the scan rebuilt."""
    where, args = within.where()
    stored: dict[str, CaseRow | ProceedingRow] = {
        r["case_id"]: CaseRow(**dict(r)) for r in await conn.fetch(f"SELECT * FROM cases WHERE {where}", *args)
    }
    where_proceeding, _ = within.where("proceeding_id")
    for r in await conn.fetch(f"SELECT * FROM proceedings WHERE {where_proceeding}", *args):
        stored[r["proceeding_id"]] = ProceedingRow(**dict(r))
    facts = await conn.fetch(f"SELECT * FROM unit_facts WHERE {where}", *args)
    stored_facts = {fact_key(Fact(**dict(r))) for r in facts}
    expected = found.rows
    different = sorted(k for k in expected.keys() & stored.keys() if expected[k] != stored[k])
    columns = {
        k: [c for c in type(stored[k]).model_fields if getattr(expected[k], c, None) != getattr(stored[k], c)]
        for k in different
    }
    return ReadModelDiff(
        missing=sorted(k for k in expected.keys() - stored.keys() if expected[k] is not None),
        extra=sorted(stored.keys() - expected.keys()),
        different=different,
        facts_different=sorted({f[3] for f in found.facts ^ stored_facts}),
        columns=columns | _fact_columns(found.facts - stored_facts, stored_facts - found.facts),
    )


def _fact_columns(rebuilt: set[tuple], stored: set[tuple]) -> dict[str, list[str]]:
    """What differs in each case's facts: a fact (event, kind, unit) found in both with other columns, or one
    found only in the rebuild or only in the table."""
    keyed = {f[:3]: f for f in stored}
    found: dict[str, set[str]] = {}
    unmatched: dict[str, list[tuple]] = {}
    for fact in rebuilt:
        twin = keyed.pop(fact[:3], None)
        if twin is None:
            unmatched.setdefault(fact[3], []).append(fact)
        else:
            for case_id in {fact[3], twin[3]}:
                found.setdefault(case_id, set()).update(_changed(fact, twin))
    for extra in keyed.values():  # a key column changed: pair it with a rebuilt fact of its case differing only there
        same_case = unmatched.get(extra[3], [])
        close = next((fact for fact in same_case if len(_changed(fact, extra)) == 1), None)
        if close is not None:
            same_case.remove(close)
            found.setdefault(extra[3], set()).update(_changed(close, extra))
        else:
            found.setdefault(extra[3], set()).add("a fact the events do not give")
    for case_id, facts in unmatched.items():
        if facts:
            found.setdefault(case_id, set()).add("a fact missing from the table")
    return {f"facts:{case_id}": sorted(what) for case_id, what in found.items()}


def _changed(a: tuple, b: tuple) -> set[str]:
    return {f"column {name}" for name, x, y in zip(FACT_FIELDS, a, b, strict=True) if x != y}


async def ranges(conn: asyncpg.Connection, parts: int) -> list[Range]:
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
    """One process's share: scan and diff one range over its own connection (rows returned if `keep`)."""

    async def run() -> tuple[Scan, ReadModelDiff]:
        conn = await asyncpg.connect(database_url)
        try:
            await init_connection(conn)
            found = await scan(conn, within)
            changed = await diff(conn, found, within)
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

    With `keep` the rebuilt rows and facts come back too (the rebuild writes them); otherwise only the
    problems and differences, which is all the audit needs.
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
        found = await scan(conn, within)
        return found, await diff(conn, found, within)


async def audit(
    pool: asyncpg.Pool, database_url: str | None, *, case_id: str | None = None, workers: int | None = None
) -> tuple[int, list[ChainProblem], ReadModelDiff]:
    """Chains and read models in one pass: how many events, the chain problems, the read-model differences."""
    found, changed = await whole(pool, database_url, case_id=case_id, workers=workers)
    return found.events, found.problems, changed
