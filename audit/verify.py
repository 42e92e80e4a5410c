"""`rectify audit verify`: everything that lets an auditor trust the record without trusting its operators.

Each check says what it looked at and names every discrepancy by case, version or position. The
checks only read: they run under the auditors' SELECT-only role.
"""

from __future__ import annotations

import asyncio
import itertools

from rectify.activities.interface import VerifyOutcome, VerifyTask
from rectify.audit.checks import (
    CLOCK,
    AuditFindings,
    CheckResult,
    Clock,
    Finding,
    HistoryCheck,
    Verified,
    at,
    checkpoint_links,
    root_matches,
)
from rectify.domain.checkpoints import Checkpoint
from rectify.store import EventStore
from rectify.store import audit_queries as queries
from rectify.store.checkpoints import checkpoints, record_verified
from rectify.store.scan import ChainProblem, ReadModelDiff

__all__ = ["AuditFindings", "CheckResult", "Finding", "HistoryCheck", "verify", "verify_and_record"]


async def verify(
    store: EventStore,
    case_id: str | None = None,
    *,
    histories: HistoryCheck | None = None,
    workers: int | None = None,
    since_checkpoint: bool = False,
) -> AuditFindings:
    """Every check; chains and read models share one pass over the events, over `workers` processes.

    With `since_checkpoint`, only what the latest verified checkpoint does not already prove (audit/incremental.py);
    a store without one is verified in full.
    """
    return (await _verify(store, case_id, histories, workers, since_checkpoint)).findings


async def verify_and_record(
    store: EventStore,
    *,
    since_checkpoint: bool = False,
    histories: HistoryCheck | None = None,
    workers: int | None = None,
) -> tuple[AuditFindings, Checkpoint | None]:
    """`verify` the whole store, and when every check passes record a verified checkpoint at the position it covered
    (None if the verify found problems, or another checkpoint got further meanwhile). Needs a role that may write."""
    done = await _verify(store, None, histories, workers, since_checkpoint)
    findings = done.findings
    if not findings.ok or findings.position is None:
        return findings, None
    return findings, await record_verified(store.pool, findings.scope, findings.position, done.heads)


#: Discrepancies carried in a scheduled verify's outcome (the rest are counted; `rectify audit verify` lists them all).
SHOWN = 20


async def scheduled_verify(store: EventStore, task: VerifyTask) -> VerifyOutcome:
    """The checkpoint Schedules' step (the activity in activities/audits.py runs it): `verify_and_record`, in full
    or since the latest verified checkpoint, told as the workflow's outcome."""
    findings, checkpoint = await verify_and_record(store, since_checkpoint=not task.full)
    problems = [f"{r.check}: {f.where()}: {f.problem}" for r in findings.results for f in r.findings]
    chains = next((r for r in findings.results if r.check == "chains"), None)
    return VerifyOutcome(
        ok=findings.ok,
        scope=findings.scope,
        since=findings.since,
        events=chains.checked if chains else 0,
        problems=len(problems),
        first_problems=tuple(problems[:SHOWN]),
        checkpoint=checkpoint,
    )


async def _verify(
    store: EventStore, case_id: str | None, histories: HistoryCheck | None, workers: int | None, since: bool
) -> Verified:
    if since and case_id is None:
        from rectify.audit.incremental import verify_since

        done = await verify_since(store, histories)
        if done is not None:
            return done
    # Positions are given out under a lock held to commit: every event up to the highest seen now is seen below.
    position = await queries.max_position(store.pool) if case_id is None else None
    if case_id is None:
        # The pass in position order (recording times, checkpoints) runs while the scan's processes check the chains:
        # it reads narrow rows in this process, which otherwise only waits for them.
        (events, problems, diff), ledger = await asyncio.gather(store.audit(None, workers=workers), _ledger(store))
        last = list(ledger)
    else:
        events, problems, diff = await store.audit(case_id, workers=workers)
        last = [await _clock_near(store, case_id), _skipped_checkpoints()]
    results = [_chains(events, problems), await _positions(store, case_id), await _read_models(store, case_id, diff)]
    results += last
    if histories is not None:
        results.append(await histories(store, case_id))
    scope = "case" if case_id else "full"
    return Verified(AuditFindings(case_id=case_id, results=tuple(results), scope=scope, position=position))


def _chains(events: int, problems: list[ChainProblem]) -> CheckResult:
    return CheckResult(
        check="chains",
        what="per-case hash chains: versions 1…n without gaps, each hash over its body and the one before, each "
        "seal over its position, recorded_at and hash and the one before, every other column equal to its body, "
        "bodies valid events, event ids derived from their commands",
        checked=events,
        findings=tuple(Finding(case_id=p.case_id, version=p.version, problem=p.problem) for p in problems),
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
        return CheckResult(check="positions", what=what, checked=len(rows), findings=tuple(findings))
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
    return CheckResult(check="positions", what=what, checked=stats["n"], findings=tuple(findings))


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
        findings=tuple(findings),
    )


def _skipped_checkpoints() -> CheckResult:
    return CheckResult(
        check="checkpoints",
        what="Merkle roots over all chain heads",
        checked=0,
        skipped="covers the whole store; run without --case",
    )


async def _ledger(store: EventStore) -> tuple[CheckResult, CheckResult]:
    """One pass in position order: recording times, then each checkpoint's links and root over the heads it saw."""
    taken = await checkpoints(store.pool)
    what = "checkpoints: each chained to the one before, and its Merkle root recomputed from the store"
    findings: list[Finding] = []
    prev: Checkpoint | None = None
    for cp in taken:
        findings += checkpoint_links(cp, prev)
        prev = cp
    max_position = await queries.max_position(store.pool)
    heads: dict[str, tuple[int, str, str]] = {}
    clock = Clock()
    cursor_position = events = 0
    pending = sorted(taken, key=lambda c: c.position)
    covering = _first_timed(pending)  # the first checkpoint still ahead whose time is sealed: bounds every row
    async for row in queries.in_position_order(store.pool):
        while pending and pending[0].position < row["position"]:
            findings += root_matches(pending.pop(0), heads)
            covering = _first_timed(pending)
        if covering is not None and covering.sealed_time is not None and row["recorded_at"] > covering.sealed_time:
            clock.findings.append(
                at(
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
            findings += root_matches(cp, heads)
    checked = CheckResult(
        check="checkpoints",
        what=what,
        checked=len(taken),
        findings=tuple(findings),
        skipped=None if taken else "no checkpoint taken yet",
    )
    return CheckResult(check="recording times", what=CLOCK, checked=events, findings=tuple(clock.findings)), checked


def _first_timed(pending: list[Checkpoint]) -> Checkpoint | None:
    return next((cp for cp in pending if cp.sealed_time is not None), None)


async def _clock_near(store: EventStore, case_id: str) -> CheckResult:
    """The recording times of one case's events against the events just before and after each in position."""
    rows = await queries.around_case(store.pool, case_id)
    clock = Clock()
    for before, row in zip([None, *rows], rows, strict=False):  # each row with the one before it (None first)
        if before is not None and row["position"] != before["position"] + 1:
            clock.finish()
        clock.add(row)
    clock.finish()
    findings = [f for f in clock.findings if f.case_id == case_id]
    return CheckResult(
        check="recording times",
        what=CLOCK,
        checked=sum(r["case_id"] == case_id for r in rows),
        findings=tuple(findings),
    )
