"""One canonical JSON form and one hash, used by the store, the audit and the offline bundle.

Standard library only: the export bundle ships this very file beside `verify_bundle.py`, so an
auditor checks the record with the same code that wrote it, on a machine without Rectify.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
#: Checkpoints since migration 0009 seal their own time and every head's seal into the root; format 1 did not.
#: Format 3 (migration 0014) also seals whether a verify that passed recorded it ("full" or "incremental").
CHECKPOINT_FORMAT = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII escapes): the only byte form that is ever hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def chain_hash(prev_hash: str, body: Any) -> str:
    """SHA-256 over the previous link and the event's canonical JSON: the per-case hash chain."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(body))
    return digest.hexdigest()


def micros(at: datetime) -> int:
    """An instant as whole microseconds since 1970-01-01 UTC: the one spelling of a time that is sealed."""
    since = at - _EPOCH  # exact integer arithmetic, not float seconds
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


def seal_hash(prev_seal: str, position: int, recorded_at: datetime, digest: str) -> str:
    """SHA-256 over `prev_seal, position, recorded_at (micros), hash`, one per line in ASCII.

    The seal chains per case like the hash, but over what the database assigns when it stores the event (its
    global position and the moment it was recorded), so the client cannot compute it: `rectify_seal` in
    migration 0009 computes it in SQL with the very same bytes.
    """
    text = f"{prev_seal}\n{position}\n{micros(recorded_at)}\n{digest}"
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def sealed_position(prev_seal: str, seal: str, recorded_at: datetime, digest: str, low: int, high: int) -> int | None:
    """The position in (low, high) at which this seal was made, if any: tells a moved event from a re-timed one."""
    text = f"\n{micros(recorded_at)}\n{digest}".encode("ascii")
    head = prev_seal.encode("ascii") + b"\n"
    for position in range(low + 1, high):
        if hashlib.sha256(head + str(position).encode("ascii") + text).hexdigest() == seal:
            return position
    return None


class SealCheck:
    """Checks one stream's seal chain at a time and names the column that explains each break.

    Rows are mappings with `position`, `recorded_at` (a datetime), `hash` and `seal`, in version order. Each seal
    is checked against the stored seal before it, so a break stays local, and the next row tells what broke: it
    links to the stored seal (the row's position or recorded_at changed: a seal that holds at another position
    names the position), or only to the seal the row should have had (its seal changed).
    """

    def __init__(self, budget: int = 1_000_000) -> None:
        #: Positions tried, over all streams, to find where a moved event was sealed (about a second of hashing).
        self.budget = budget

    def breaks(self, rows: list[Any], skip: frozenset[int] = frozenset(), after: Any = None) -> list[tuple[int, str]]:
        """(index, problem) for each row whose seal does not hold; rows at indexes in `skip` (their hash column
        changed, which already explains the seal) are not named again. `after` is the row before the first of
        `rows` when they do not start the stream (an incremental verify starts after a checkpoint)."""
        found: list[tuple[int, str]] = []
        prev_seal, low, broken = GENESIS_HASH, 0, None
        if after is not None:
            prev_seal, low = after["seal"], after["position"]
        for index, row in enumerate(rows):
            ok = seal_hash(prev_seal, row["position"], row["recorded_at"], row["hash"]) == row["seal"]
            if broken is not None:
                seal_changed = (
                    not ok and seal_hash(broken[2], row["position"], row["recorded_at"], row["hash"]) == (row["seal"])
                )
                found += self._name(rows, broken, row, next_links=ok, seal_changed=seal_changed, skip=skip)
                ok = ok or seal_changed  # with the seal its predecessor should have had, this row holds
                broken = None
            if not ok:
                broken = (index, prev_seal, seal_hash(prev_seal, row["position"], row["recorded_at"], row["hash"]), low)
            prev_seal, low = row["seal"], row["position"]
        if broken is not None:
            found += self._name(rows, broken, None, next_links=False, seal_changed=False, skip=skip)
        return found

    def _name(
        self,
        rows: list[Any],
        broken: tuple[int, str, str, int],
        after: Any,
        *,
        next_links: bool,
        seal_changed: bool,
        skip: frozenset[int],
    ) -> list[tuple[int, str]]:
        index, prev_seal, _, low = broken
        row = rows[index]
        if index in skip:
            return []
        if seal_changed:
            return [(index, "column seal: not the seal of this event's position, recorded_at and hash")]
        if after is not None and not next_links:
            return [
                (
                    index,
                    "columns position, recorded_at or seal: the seal does not match them, and the next "
                    "event's seal does not link to it (more than one was changed)",
                )
            ]
        high = min(after["position"] if after is not None else low + 1 + self.budget, low + 1 + self.budget)
        self.budget -= max(0, high - low - 1)
        moved = sealed_position(prev_seal, row["seal"], row["recorded_at"], row["hash"], low, high)
        if moved is not None:
            return [(index, f"column position: the row says {row['position']}, but the event was sealed at {moved}")]
        if after is not None:
            return [
                (
                    index,
                    f"column recorded_at: the row says {row['recorded_at'].isoformat()}, not the moment "
                    "sealed with this event",
                )
            ]
        return [
            (
                index,
                "column recorded_at or seal: the seal does not match (the stream's last event: no event "
                "after it tells which)",
            )
        ]


def merkle_root(leaves: list[bytes]) -> str:
    """RFC 6962 Merkle tree hash: leaves as 0x00‖data, nodes as 0x01‖left‖right, split at a power of two."""

    def node(items: list[bytes]) -> bytes:
        if len(items) == 1:
            return hashlib.sha256(b"\x00" + items[0]).digest()
        split = 1 << ((len(items) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + node(items[:split]) + node(items[split:])).digest()

    return (node(leaves) if leaves else hashlib.sha256(b"").digest()).hex()


def heads_root(heads: list[tuple[str, int, str]]) -> str:
    """A format-1 checkpoint's root: the Merkle root over every case's chain head (case id, version, hash).

    Deleting a case, dropping its last events or rewriting any of them changes some head and so the root.
    """
    return merkle_root([canonical_json([case_id, version, digest]) for case_id, version, digest in sorted(heads)])


def checkpoint_root(position: int, at: datetime, heads: list[tuple[str, int, str, str]]) -> str:
    """A format-2 checkpoint's root: the Merkle root over its header (position and time) and then every case's
    head (case id, version, hash, seal) in case id order.

    The head's seal covers the position and recording time of every event of its case, so a root printed in a
    bulletin fixes those too, and the time at which the checkpoint says it saw all of them.
    """
    header = canonical_json({"position": position, "time": micros(at)})
    return merkle_root([header, *(canonical_json(list(head)) for head in sorted(heads))])


def checkpoint_hash(
    number: int,
    position: int,
    cases: int,
    root: str,
    prev_hash: str,
    at: datetime | None = None,
    *,
    format: int = 2,
    verified: str | None = None,
) -> str:
    """Checkpoints chain like events: each one's hash covers the one before it (and, from format 2, its time;
    from format 3, which verify recorded it, if any)."""
    fields: dict[str, Any] = {
        "number": number,
        "position": position,
        "cases": cases,
        "root": root,
        "prev_hash": prev_hash,
    }
    if at is not None:
        fields |= {"format": format, "time": micros(at)}
        if format >= 3:
            fields["verified"] = verified
    return hashlib.sha256(canonical_json(fields)).hexdigest()
