"""The scan's per-event work done fast, each with the exact definition (domain/) as its fallback and its proof.

The audit and the rebuild read every event of the store; at a million events per-event Python counts. Here:

- bodies are decoded with orjson (the standard library's decoder is the fallback for what orjson refuses);
- a body's canonical bytes come from orjson with sorted keys. They are the bytes `canonical_json` gives for any
  body a JSON decoder returns, except floats orjson spells otherwise (`1e16` against `1e+16`): so a hash that
  does not match is computed again with `canonical_json` (over the standard library's decoding, as orjson reads
  integers beyond 64 bits as floats) before anything is reported. A match is proof on its own: SHA-256 matched
  the bytes the writer hashed, and equal bytes decode to equal bodies;
- event ids are uuid5 computed from a SHA-1 state prepared once (tests check it against `decider.event_id`);
- a checkpoint's Merkle root is built bottom up, its leaves formatted directly when no character needs escaping.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import orjson

from rectify.domain.canonical import canonical_json, chain_hash, micros
from rectify.domain.decider import _EVENT_ID_NAMESPACE

_SORTED = orjson.OPT_SORT_KEYS
_NAMESPACE = hashlib.sha1(_EVENT_ID_NAMESPACE.bytes, usedforsecurity=False)


def decode(text: str) -> Any:
    """A stored body as Python data (a JSON text from PostgreSQL, valid by construction)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. an integer beyond 64 bits, which the standard decoder takes
        return json.loads(text)


def hash_matches(prev_hash: str, body: Any, digest: str, text: str | None = None) -> Any:
    """The body, if `digest` is its chain hash after `prev_hash` (domain.canonical.chain_hash); else None.

    `text` is the JSON the body was decoded from: orjson reads an integer beyond 64 bits as a float, so when no
    hash matches, the text is decoded again by the standard library and that body is tried too (and returned).
    """
    try:
        fast = hashlib.sha256(prev_hash.encode("ascii") + orjson.dumps(body, option=_SORTED)).hexdigest()
    except (TypeError, orjson.JSONEncodeError):
        fast = None
    if fast == digest or chain_hash(prev_hash, body) == digest:
        return body
    if text is not None:
        exact = json.loads(text)
        if chain_hash(prev_hash, exact) == digest:
            return exact
    return None


def event_id(command_id: str, index: int) -> str:
    """`domain.decider.event_id`: uuid5 of "command_id/index" in the event-id namespace."""
    digest = _NAMESPACE.copy()
    digest.update(f"{command_id}/{index}".encode())
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _leaf(head: tuple[str, int, str, str]) -> bytes:
    case_id, version, digest, seal = head
    if case_id.isascii() and case_id.isprintable() and '"' not in case_id and "\\" not in case_id:
        return f'["{case_id}",{version},"{digest}","{seal}"]'.encode()
    return canonical_json(list(head))


def merkle_root(leaves: list[bytes]) -> str:
    """`domain.canonical.merkle_root`, bottom up: a lone node at the end of a level moves up as it is, which
    gives RFC 6962's split at the largest power of two below the count."""
    sha = hashlib.sha256
    level = [sha(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return sha(b"").hexdigest()
    while len(level) > 1:
        paired = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def checkpoint_root(position: int, at: datetime, heads: list[tuple[str, int, str, str]]) -> str:
    """`domain.canonical.checkpoint_root`: a format-2 (and 3) checkpoint's root over its header and the heads."""
    header = canonical_json({"position": position, "time": micros(at)})
    return merkle_root([header, *(_leaf(head) for head in sorted(heads))])
