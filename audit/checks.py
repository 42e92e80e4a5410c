"""What the audit reports (findings per check, a verify's outcome), and the checks both verifies share (verify.py,
incremental.py): the record's clock, and each checkpoint's links and root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from rectify.domain.canonical import GENESIS_HASH
from rectify.domain.checkpoints import Checkpoint
from rectify.domain.types import Frozen
from rectify.store import EventStore, fastpath
from rectify.store.checkpoints import Head


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
    #: "full" (every event), "incremental" (the events after the verified checkpoint `since`) or "case".
    scope: str = "full"
    since: int | None = None
    #: Every event at or before this position was covered (None for one case).
    position: int | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


#: The workflow-history check a verify may add (audit/histories.py builds it; it needs a Temporal client).
HistoryCheck = Callable[[EventStore, str | None], Awaitable[CheckResult]]


@dataclass(frozen=True)
class Verified:
    """A verify's findings, with the heads at the position it covered when it knows them (the incremental's)."""

    findings: AuditFindings
    heads: list[Head] | None = None


Row = asyncpg.Record
CLOCK = "recording times: recorded_at never goes back with position, nor lies after a checkpoint that covers it"


class Clock:
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
        self.findings.append(at(blamed, problem))


def at(row: Row, problem: str) -> Finding:
    return Finding(case_id=row["case_id"], version=row["version"], position=row["position"], problem=problem)


def checkpoint_links(cp: Checkpoint, prev: Checkpoint | None) -> list[Finding]:
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


def root_matches(cp: Checkpoint, heads: dict[str, tuple[int, str, str]]) -> list[Finding]:
    listed = [(case_id, *head) for case_id, head in heads.items()]
    sealed = cp.sealed_time  # format 2 on: the root covers the checkpoint's time (else as cp.expected_root)
    root = fastpath.checkpoint_root(cp.position, sealed, listed) if sealed is not None else cp.expected_root(listed)
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
