"""`rectify audit verify --since-checkpoint`: a verify whose cost follows what was added since the last one.

The latest verified checkpoint (recorded by a verify that passed) fixes every chain head at its position P.
This verify, in one snapshot of the store:

- recomputes that checkpoint's root from the heads the store holds at P now (one index probe per case, at the
  version its read-model row names; for a case that went on after P, the event its chain check starts from) and
  counts the positions 1…P (from the index alone): a case deleted, an event deleted or added, or a chain
  rewritten before P changes the root or the count;
- checks every event after P against its row as the full verify does (links, hash, seal, columns, event id),
  each stream starting from its head at P, and the positions and recording times after P;
- checks every checkpoint's links, and the root of any checkpoint taken after P.

The heads at P and the count grow with the store, not the day: a second connection reads them in the same
snapshot while the first scans the events after P.

What it leaves to the full verify (the weekly Schedule): an event before P whose body was changed while its
stored hash was kept (its chain breaks, but the head and the root do not change), the read models, and whether each
body after P is a valid event of the domain (a parse into its pydantic event, the costliest check per event; the
hash already proves the body is the one its writer, which writes only valid events, hashed).
`verify_and_record` then chains a new verified checkpoint at the position it covered.
"""

from __future__ import annotations

import asyncio
from operator import itemgetter

import asyncpg

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
from rectify.store.checkpoints import Head, checkpoints, heads_not_after
from rectify.store.connection import Conn
from rectify.store.scan import Scan, scan_after

_CHAINS = (
    "the hash chains of the events after the checkpoint: each linked to its case's head at the checkpoint, each hash "
    "over its body and the one before, each seal over its position, recorded_at and hash, every other column equal "
    "to its body, event ids derived from their commands (bodies valid events: the full verify)"
)


async def verify_since(store: EventStore, histories: HistoryCheck | None = None) -> Verified | None:
    """The incremental verify from the latest verified checkpoint; None when there is none (verify in full)."""
    async with store.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        taken = await checkpoints(conn)
        base = next((cp for cp in reversed(taken) if cp.verified and cp.format >= 3), None)
        if base is None:
            return None
        position = await queries.max_position(conn)
        if store.pool.get_max_size() < 2:  # one connection: one read after the other
            heads, before = await _at_checkpoint(conn, base)
            found = await scan_after(conn, base.position, position)
        else:
            snapshot = await queries.export_snapshot(conn)
            async with asyncio.TaskGroup() as group:
                beside = group.create_task(_beside(store, snapshot, base))
                found = await scan_after(conn, base.position, position)
            heads, before = beside.result()
        # The heads at P: where a case went on after P, the event its scan started from; elsewhere its last event.
        at_base = {h[0]: h[1:] for h in heads}
        at_base |= found.seeds
        results = [
            _chains(found),
            await _positions(conn, base, position, before),
            _checkpoints(taken, base, at_base, found),
            await _clock(conn, taken, base, found),
            CheckResult(
                check="read models",
                what="the cases and unit_facts read models equal a rebuild from events",
                checked=0,
                skipped="checked by the full verify (rectify audit verify, the weekly Schedule)",
            ),
        ]
    if histories is not None:
        results.append(await histories(store, None))
    findings = AuditFindings(
        case_id=None, results=tuple(results), scope="incremental", since=base.number, position=position
    )
    return Verified(findings, [(case_id, *head) for case_id, head in _heads_at(at_base, found, position).items()])


async def _at_checkpoint(conn: Conn, base: Checkpoint) -> tuple[list[Head], asyncpg.Record]:
    """What grows with the whole store: each case's head at P (one index probe each) and the count of 1…P."""
    return await heads_not_after(conn, base.position), await queries.span_stats(conn, -(2**62), base.position)


async def _beside(store: EventStore, snapshot: str, base: Checkpoint) -> tuple[list[Head], asyncpg.Record]:
    """`_at_checkpoint` on a second connection in the same snapshot, while the first scans what was added: so
    that PostgreSQL's share of it runs beside the scan's Python rather than before or after it."""
    async with queries.in_snapshot(store.pool, snapshot) as other:
        return await _at_checkpoint(other, base)


def _heads_at(at_base: dict[str, tuple[int, str, str]], found: Scan, position: int) -> dict[str, tuple[int, str, str]]:
    """Each case's head at `position` (at or after the checkpoint's): its last event read at or before it, else its
    head at the checkpoint."""
    heads = dict(at_base)
    for case_id, tail in found.tails.items():
        seen = [(version, digest, seal) for at, version, digest, seal in tail if at <= position]
        if seen:
            heads[case_id] = seen[-1]
    return heads


def _chains(found: Scan) -> CheckResult:
    return CheckResult(
        check="chains",
        what=_CHAINS,
        checked=found.events,
        findings=tuple(Finding(case_id=p.case_id, version=p.version, problem=p.problem) for p in found.problems),
    )


async def _positions(conn: Conn, base: Checkpoint, position: int, before: asyncpg.Record) -> CheckResult:
    """1…P counted from the positions' index (P events, none below 1: `before`), then P+1…N without gaps."""
    what = "global positions: 1…P all there (P: the checkpoint's), then P+1…N without gaps"
    findings: list[Finding] = []
    if before["n"] != base.position or (base.position and before["lo"] != 1):
        findings.append(
            Finding(
                position=base.position,
                problem=f"checkpoint {base.number} covers positions 1…{base.position}, but the store holds "
                f"{before['n']} events there, from position {before['lo']} (events before it were deleted or added)",
            )
        )
    after = await queries.span_stats(conn, base.position, position)
    if after["n"] != position - base.position:
        gaps = await queries.position_gaps(conn, after=base.position)
        findings += [
            Finding(position=g["first"], problem=f"positions {g['first']}…{g['last']} are missing (events deleted)")
            for g in gaps
        ]
    return CheckResult(check="positions", what=what, checked=before["n"] + after["n"], findings=tuple(findings))


def _checkpoints(
    taken: list[Checkpoint], base: Checkpoint, at_base: dict[str, tuple[int, str, str]], found: Scan
) -> CheckResult:
    findings: list[Finding] = []
    prev: Checkpoint | None = None
    for cp in taken:
        findings += checkpoint_links(cp, prev)
        prev = cp
    for cp in [base, *(cp for cp in taken if cp.number > base.number)]:
        findings += root_matches(cp, at_base if cp is base else _heads_at(at_base, found, cp.position))
    return CheckResult(
        check="checkpoints",
        what=f"checkpoints: each chained to the one before; the root of checkpoint {base.number} (the latest "
        "verified) and of any taken after it recomputed from the heads the store holds at its position",
        checked=len(taken),
        findings=tuple(findings),
    )


async def _clock(conn: Conn, taken: list[Checkpoint], base: Checkpoint, found: Scan) -> CheckResult:
    """Recording times from the checkpoint's last event on: never back, and never after a later checkpoint's time.
    The events after the checkpoint are the scan's (the same snapshot), put in position order here."""
    clock = Clock()
    later = sorted((cp for cp in taken if cp.position > base.position and cp.sealed_time), key=lambda c: c.position)
    rows = sorted(found.read, key=itemgetter("position"))
    if base.position >= 1 and (last := await queries.event_at(conn, base.position)) is not None:
        rows.insert(0, last)
    events = 0
    for row in rows:
        while later and later[0].position < row["position"]:
            later.pop(0)
        covering = later[0] if later else None
        if covering is not None and covering.sealed_time and row["recorded_at"] > covering.sealed_time:
            clock.findings.append(
                at(
                    row,
                    f"column recorded_at: recorded at {row['recorded_at'].isoformat()}, after checkpoint "
                    f"{covering.number}'s time {covering.sealed_time.isoformat()}, though it covers position "
                    f"{covering.position}",
                )
            )
        clock.add(row)
        events += row["position"] > base.position
    clock.finish()
    return CheckResult(check="recording times", what=CLOCK, checked=events, findings=tuple(clock.findings))
