"""A checkpoint: a Merkle root over every chain head at one global position, chained one to the next.

A per-case hash chain shows an edited event, but not a case deleted whole or a tail cut off. A
checkpoint does: recomputing its root from the store must give the same value, and the roots are
printed where others keep copies (the weekly bulletin, every export bundle). store/checkpoints.py
takes them; the audit checks them.
"""

from __future__ import annotations

from datetime import datetime

from rectify.domain.canonical import checkpoint_hash, checkpoint_root, heads_root
from rectify.domain.types import Frozen


class Checkpoint(Frozen):
    number: int
    position: int
    cases: int
    root: str
    prev_hash: str
    hash: str
    created_at: datetime | None = None
    #: 1: root over (case, version, hash), time not covered (before migration 0009); 2: see checkpoint_root;
    #: 3: as 2, and its hash covers `verified`.
    format: int = 1
    #: Recorded by a verify that passed: "full", or "incremental" (built on the verified checkpoint before it).
    #: None: taken without a verify (`rectify audit checkpoint`, the simulation's end).
    verified: str | None = None

    @property
    def sealed_time(self) -> datetime | None:
        """The checkpoint's own time, when its hash and root cover it (format 2)."""
        return self.created_at if self.format >= 2 else None

    def expected_hash(self) -> str:
        return checkpoint_hash(
            self.number,
            self.position,
            self.cases,
            self.root,
            self.prev_hash,
            self.sealed_time,
            format=self.format,
            verified=self.verified,
        )

    def expected_root(self, heads: list[tuple[str, int, str, str]]) -> str:
        """The root these heads (case id, version, hash, seal) give under this checkpoint's format."""
        if self.format >= 2 and self.created_at is not None:
            return checkpoint_root(self.position, self.created_at, heads)
        return heads_root([(case_id, version, digest) for case_id, version, digest, _ in heads])
