"""`rectify audit verify`: everything that lets an auditor trust the record without trusting its operators.

Each check says what it looked at and names every discrepancy by case, version or position. The
checks only read: they run under the auditors' SELECT-only role.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import asyncpg

from rectify.domain.canonical import GENESIS_HASH
from rectify.domain.checkpoints import Checkpoint
from rectify.domain.types import Frozen
from rectify.store import EventStore
from rectify.store import audit_queries as queries
from rectify.store.checkpoints import checkpoints
from rectify.store.scan import ChainProblem, ReadModelDiff


class Finding(Frozen):
    case_id: str | None = None
    version: int | None = None
    position: int | None = None
    problem: str

    def where(self) -> str:
        parts = [f"case {self.case_id}" if self.case_id else "", f"v{self.version}" if self.version else ""]
        parts.append(f"position {self.position}" if self.position else "")
        return " ".join(p for p in parts if p) or "store"


class CheckResult(Frozen):
    check: str
    what: str
    checked: int
    findings: tuple[Finding, ...] = ()
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


class AuditFindings(Frozen):
    case_id: str | None
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


HistoryCheck = Callable[[EventStore, str | None], Awaitable[CheckResult]]


async def verify(
    store: EventStore, case_id: str | None = None, *, histories: HistoryCheck | None = None, workers: int | None = None
) -> AuditFindings:
    """Every check; chains and read models share one pass over the events, over `workers` processes."""
    events, problems, diff = await store.audit(case_id, workers=workers)
    results = [_chains(events, problems), await _positions(store, case_id), await _read_models(store, case_id, diff)]
    if case_id is None:
        results += await _ledger(store)
    else:
        results += [await _clock_near(store, case_id), _skipped_checkpoints()]
    if histories is not None:
        results.append(await histories(store, case_id))
    return AuditFindings(case_id=case_id, results=tuple(results))


def _chains(events: int, problems: list[ChainProblem]) -> CheckResult:
    return CheckResult(
        check="chains",
        what="per-case hash chains: versions 1…n without gaps, each hash over its body and the one before, each "
        "seal over its position, recorded_at and hash and the one before, every other column equal to its body, "
        "bodies valid events, event ids derived from their commands",
        checked=events,
        findings=[Finding(case_id=p.case_id, version=p.version, problem=p.problem) for p in problems],
    )


async def _positions(store: EventStore, case_id: str | None) -> CheckResult:
    what = "global positions: unique, 1…N without gaps, and increasing with each case's versions"
    if case_id:
        rows = await queries.case_positions(store.pool, case_id)
        findings = [
            Finding(
                case_id=case_id,
                version=b["version"],
                position=b["position"],
                problem=f"position not after v{a['version']}'s ({a['position']})",
            )
            for a, b in itertools.pairwise(rows)
            if b["position"] <= a["position"]
        ]
        return CheckResult(check="positions", what=what, checked=len(rows), findings=findings)
    stats = await queries.position_stats(store.pool)
    findings: list[Finding] = []
    if stats["n"] and stats["lo"] != 1:
        missing = f"positions start at {stats['lo']}: events 1…{stats['lo'] - 1} are missing"
        findings.append(Finding(position=1, problem=missing))
    gaps = await queries.position_gaps(store.pool)
    findings += [
        Finding(position=g["first"], problem=f"positions {g['first']}…{g['last']} are missing (events deleted)")
        for g in gaps
    ]
    return CheckResult(check="positions", what=what, checked=stats["n"], findings=findings)


async def _read_models(store: EventStore, case_id: str | None, diff: ReadModelDiff) -> CheckResult:
    findings = [Finding(case_id=c, problem="the cases read model has no row for this case") for c in diff.missing]
    findings += [Finding(case_id=c, problem="the cases read model has a row but no events") for c in diff.extra]
    findings += [
        Finding(
            case_id=c,
            problem="the read model row differs from a rebuild from events in column "
            + ", ".join(diff.columns.get(c, [])),
        )
        for c in diff.different
    ]
    findings += [
        Finding(
            case_id=c,
            problem="its indicator facts (unit_facts) differ from a rebuild from events: "
            + ", ".join(diff.columns.get(f"facts:{c}", [])),
        )
        for c in diff.facts_different
    ]
    if case_id:
        findings = [f for f in findings if f.case_id == case_id]
    checked = 1 if case_id else await queries.count_cases(store.pool)
    return CheckResult(
        check="read models",
        what="the cases and unit_facts read models equal a rebuild from events",
        checked=checked,
        findings=findings,
    )


def _skipped_checkpoints() -> CheckResult:
    return CheckResult(
        check="checkpoints",
        what="Merkle roots over all chain heads",
        checked=0,
        skipped="covers the whole store; run without --case",
    )


Row = asyncpg.Record
_CLOCK = "recording times: recorded_at never goes back with position, nor lies after a checkpoint that covers it"


class _Clock:
    """recorded_at must not go back with position (the append gives it under the position lock, and never a time
    before the last event's). A step back is blamed on the row that stands out from its neighbours."""

    def __init__(self) -> None:
        self.window: list[asyncpg.Record] = []
        self.findings: list[Finding] = []

    def add(self, row: asyncpg.Record) -> None:
        window = self.window
        window.append(row)
        if len(window) >= 3:
            self._pair(window[-4] if len(window) >= 4 else None, window[-3], window[-2], window[-1])
            del window[:-3]

    def finish(self) -> None:
        window = self.window
        if len(window) >= 2:
            self._pair(window[-3] if len(window) >= 3 else None, window[-2], window[-1], None)
        self.window = []

    def _pair(self, before: Row | None, a: Row, b: Row, after: Row | None) -> None:
        if a["recorded_at"] <= b["recorded_at"]:
            return
        if (
            after is not None
            and a["recorded_at"] > after["recorded_at"]
            and (before is None or before["recorded_at"] <= b["recorded_at"])
        ):
            blamed, other, order = a, b, "after"  # a stands above both neighbours
        else:
            blamed, other, order = b, a, "before"  # b sits below both
        problem = (
            f"column recorded_at: recorded at {blamed['recorded_at'].isoformat()}, but position "
            f"{other['position']} (case {other['case_id']} v{other['version']}) {order} it was recorded at "
            f"{other['recorded_at'].isoformat()}: the record's clock never goes back"
        )
        self.findings.append(_at(blamed, problem))


def _at(row: Row, problem: str) -> Finding:
    return Finding(case_id=row["case_id"], version=row["version"], position=row["position"], problem=problem)


async def _ledger(store: EventStore) -> tuple[CheckResult, CheckResult]:
    """One pass in position order: recording times, then each checkpoint's links and root over the heads it saw."""
    taken = await checkpoints(store.pool)
    what = "checkpoints: each chained to the one before, and its Merkle root recomputed from the store"
    findings: list[Finding] = []
    prev: Checkpoint | None = None
    for cp in taken:
        findings += _checkpoint_links(cp, prev)
        prev = cp
    max_position = await queries.max_position(store.pool)
    heads: dict[str, tuple[int, str, str]] = {}
    clock = _Clock()
    cursor_position = events = 0
    pending = sorted(taken, key=lambda c: c.position)
    covering = _first_timed(pending)  # the first checkpoint still ahead whose time is sealed: bounds every row
    async for row in queries.in_position_order(store.pool):
        while pending and pending[0].position < row["position"]:
            findings += _root_matches(pending.pop(0), heads)
            covering = _first_timed(pending)
        if covering is not None and row["recorded_at"] > covering.sealed_time:
            clock.findings.append(
                _at(
                    row,
                    f"column recorded_at: recorded at {row['recorded_at'].isoformat()}, "
                    f"after checkpoint {covering.number}'s time "
                    f"{covering.sealed_time.isoformat()}, though it covers position "
                    f"{covering.position}",
                )
            )
        clock.add(row)
        heads[row["case_id"]] = (row["version"], row["hash"], row["seal"])
        cursor_position = row["position"]
        events += 1
    clock.finish()
    for cp in pending:
        if cp.position > cursor_position:
            gone = f"checkpoint {cp.number} covers position {cp.position}, but the store ends at {max_position}"
            findings.append(Finding(position=cp.position, problem=f"{gone}: its tail is gone"))
        else:
            findings += _root_matches(cp, heads)
    checked = CheckResult(
        check="checkpoints",
        what=what,
        checked=len(taken),
        findings=findings,
        skipped=None if taken else "no checkpoint taken yet",
    )
    return CheckResult(check="recording times", what=_CLOCK, checked=events, findings=clock.findings), checked


def _first_timed(pending: list[Checkpoint]) -> Checkpoint | None:
    return next((cp for cp in pending if cp.sealed_time is not None), None)


async def _clock_near(store: EventStore, case_id: str) -> CheckResult:
    """The recording times of one case's events against the events just before and after each in position."""
    rows = await queries.around_case(store.pool, case_id)
    clock = _Clock()
    for before, row in itertools.pairwise([None, *rows]):
        if before is not None and row["position"] != before["position"] + 1:
            clock.finish()
        clock.add(row)
    clock.finish()
    findings = [f for f in clock.findings if f.case_id == case_id]
    return CheckResult(
        check="recording times", what=_CLOCK, checked=sum(r["case_id"] == case_id for r in rows), findings=findings
    )


def _checkpoint_links(cp: Checkpoint, prev: Checkpoint | None) -> list[Finding]:
    problems = []
    if cp.hash != cp.expected_hash():
        problems.append("its hash does not match its fields")
    if cp.prev_hash != (prev.hash if prev else GENESIS_HASH):
        problems.append("it does not link to the checkpoint before")
    if prev and cp.position < prev.position:
        problems.append("it goes back in position")
    if prev and cp.sealed_time and prev.sealed_time and cp.sealed_time < prev.sealed_time:
        problems.append("it goes back in time")
    return [Finding(position=cp.position, problem=f"checkpoint {cp.number}: {p}") for p in problems]


def _root_matches(cp: Checkpoint, heads: dict[str, tuple[int, str, str]]) -> list[Finding]:
    root = cp.expected_root([(case_id, *head) for case_id, head in heads.items()])
    if root == cp.root and len(heads) == cp.cases:
        return []
    return [
        Finding(
            position=cp.position,
            problem=f"checkpoint {cp.number}: the store now gives root {root[:16]}… over "
            f"{len(heads)} cases, but {cp.root[:16]}… over {cp.cases} cases was recorded (events before "
            f"position {cp.position} were deleted, changed or reordered, or their times changed)",
        )
    ]
