"""`rectify audit verify`: everything that lets an auditor trust the record without trusting its operators.

Each check says what it looked at and names every discrepancy by case, version or position. The
checks only read: they run under the auditors' SELECT-only role.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from rectify.audit.checkpoints import Checkpoint, checkpoints
from rectify.domain.canonical import GENESIS_HASH, heads_root
from rectify.domain.types import Frozen
from rectify.store import EventStore
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


class AuditReport(Frozen):
    case_id: str | None
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


HistoryCheck = Callable[[EventStore, str | None], Awaitable[CheckResult]]


async def verify(
    store: EventStore, case_id: str | None = None, *, histories: HistoryCheck | None = None, workers: int | None = None
) -> AuditReport:
    """Every check; chains and read models share one pass over the events, over `workers` processes."""
    events, problems, diff = await store.audit(case_id, workers=workers)
    results = [_chains(events, problems), await _positions(store, case_id), await _read_models(store, case_id, diff)]
    results.append(await _checkpoints(store) if case_id is None else _skipped_checkpoints())
    if histories is not None:
        results.append(await histories(store, case_id))
    return AuditReport(case_id=case_id, results=tuple(results))


def _chains(events: int, problems: list[ChainProblem]) -> CheckResult:
    return CheckResult(
        check="chains",
        what="per-case hash chains: versions 1…n without gaps, each hash over its body and the one before, "
        "bodies valid events matching their rows, event ids derived from their commands",
        checked=events,
        findings=[Finding(case_id=p.case_id, version=p.version, problem=p.problem) for p in problems],
    )


async def _positions(store: EventStore, case_id: str | None) -> CheckResult:
    what = "global positions: unique, 1…N without gaps, and increasing with each case's versions"
    if case_id:
        query = "SELECT position, version FROM events WHERE case_id = $1 ORDER BY version"
        rows = await store.pool.fetch(query, case_id)
        findings = [
            Finding(case_id=case_id, version=b["version"], position=b["position"],
                    problem=f"position not after v{a['version']}'s ({a['position']})")
            for a, b in itertools.pairwise(rows)
            if b["position"] <= a["position"]
        ]  # fmt: skip
        return CheckResult(check="positions", what=what, checked=len(rows), findings=findings)
    stats = await store.pool.fetchrow("SELECT count(*) AS n, min(position) AS lo, max(position) AS hi FROM events")
    findings: list[Finding] = []
    if stats["n"] and stats["lo"] != 1:
        missing = f"positions start at {stats['lo']}: events 1…{stats['lo'] - 1} are missing"
        findings.append(Finding(position=1, problem=missing))
    gaps = await store.pool.fetch(
        """SELECT position + 1 AS first, next - 1 AS last FROM (
               SELECT position, lead(position) OVER (ORDER BY position) AS next FROM events) g
           WHERE next > position + 1 ORDER BY position LIMIT 50"""
    )
    findings += [
        Finding(position=g["first"], problem=f"positions {g['first']}…{g['last']} are missing (events deleted)")
        for g in gaps
    ]
    return CheckResult(check="positions", what=what, checked=stats["n"], findings=findings)


async def _read_models(store: EventStore, case_id: str | None, diff: ReadModelDiff) -> CheckResult:
    findings = [Finding(case_id=c, problem="the cases read model has no row for this case") for c in diff.missing]
    findings += [Finding(case_id=c, problem="the cases read model has a row but no events") for c in diff.extra]
    findings += [Finding(case_id=c, problem="the read model row differs from a rebuild from events")
                 for c in diff.different]  # fmt: skip
    findings += [Finding(case_id=c, problem="its indicator facts (unit_facts) differ from a rebuild from events")
                 for c in diff.facts_different]  # fmt: skip
    if case_id:
        findings = [f for f in findings if f.case_id == case_id]
    checked = 1 if case_id else await store.pool.fetchval("SELECT count(*) FROM cases")
    return CheckResult(check="read models", what="the cases and unit_facts read models equal a rebuild from events",
                       checked=checked, findings=findings)  # fmt: skip


def _skipped_checkpoints() -> CheckResult:
    return CheckResult(check="checkpoints", what="Merkle roots over all chain heads", checked=0,
                       skipped="covers the whole store; run without --case")  # fmt: skip


async def _checkpoints(store: EventStore) -> CheckResult:
    """Each checkpoint's own hash and link, and its root recomputed from the events at its position."""
    taken = await checkpoints(store.pool)
    what = "checkpoints: each chained to the one before, and its Merkle root recomputed from the store"
    findings: list[Finding] = []
    prev_hash, prev_position = GENESIS_HASH, 0
    for cp in taken:
        findings += _checkpoint_links(cp, prev_hash, prev_position)
        prev_hash, prev_position = cp.hash, cp.position
    max_position = await store.pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    heads: dict[str, tuple[int, str]] = {}
    cursor_position = 0
    async with store.pool.acquire() as conn, conn.transaction():
        rows = conn.cursor("SELECT position, case_id, version, hash FROM events ORDER BY position", prefetch=2000)
        pending = sorted(taken, key=lambda c: c.position)
        async for row in rows:
            while pending and pending[0].position < row["position"]:
                findings += _root_matches(pending.pop(0), heads)
            heads[row["case_id"]] = (row["version"], row["hash"])
            cursor_position = row["position"]
        for cp in pending:
            if cp.position > cursor_position:
                gone = f"checkpoint {cp.number} covers position {cp.position}, but the store ends at {max_position}"
                findings.append(Finding(position=cp.position, problem=f"{gone}: its tail is gone"))
            else:
                findings += _root_matches(cp, heads)
    return CheckResult(check="checkpoints", what=what, checked=len(taken), findings=findings,
                       skipped=None if taken else "no checkpoint taken yet")  # fmt: skip


def _checkpoint_links(cp: Checkpoint, prev_hash: str, prev_position: int) -> list[Finding]:
    problems = []
    if cp.hash != cp.expected_hash():
        problems.append("its hash does not match its fields")
    if cp.prev_hash != prev_hash:
        problems.append("it does not link to the checkpoint before")
    if cp.position < prev_position:
        problems.append("it goes back in position")
    return [Finding(position=cp.position, problem=f"checkpoint {cp.number}: {p}") for p in problems]


def _root_matches(cp: Checkpoint, heads: dict[str, tuple[int, str]]) -> list[Finding]:
    root = heads_root([(case_id, version, digest) for case_id, (version, digest) in heads.items()])
    if root == cp.root and len(heads) == cp.cases:
        return []
    return [Finding(position=cp.position, problem=f"checkpoint {cp.number}: the store now gives root {root[:16]}… over "
                    f"{len(heads)} cases, but {cp.root[:16]}… over {cp.cases} cases was recorded (events before "
                    f"position {cp.position} were deleted, changed or reordered)")]  # fmt: skip
