"""One canonical JSON form and one hash, used by the store, the audit and the offline bundle.

Standard library only: the export bundle ships this very file beside `verify_bundle.py`, so an
auditor checks the record with the same code that wrote it, on a machine without Rectify.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII escapes): the only byte form that is ever hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def chain_hash(prev_hash: str, body: Any) -> str:
    """SHA-256 over the previous link and the event's canonical JSON: the per-case hash chain."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(body))
    return digest.hexdigest()


def merkle_root(leaves: list[bytes]) -> str:
    """RFC 6962 Merkle tree hash: leaves as 0x00‖data, nodes as 0x01‖left‖right, split at a power of two."""

    def node(items: list[bytes]) -> bytes:
        if len(items) == 1:
            return hashlib.sha256(b"\x00" + items[0]).digest()
        split = 1 << ((len(items) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + node(items[:split]) + node(items[split:])).digest()

    return (node(leaves) if leaves else hashlib.sha256(b"").digest()).hex()


def heads_root(heads: list[tuple[str, int, str]]) -> str:
    """The Merkle root over every case's chain head (case id, version, hash), in case id order.

    Deleting a case, dropping its last events or rewriting any of them changes some head and so the root.
    """
    return merkle_root([canonical_json([case_id, version, digest]) for case_id, version, digest in sorted(heads)])


def checkpoint_hash(number: int, position: int, cases: int, root: str, prev_hash: str) -> str:
    """Checkpoints chain like events: each one's hash covers the one before it."""
    fields = {"number": number, "position": position, "cases": cases, "root": root, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(fields)).hexdigest()
