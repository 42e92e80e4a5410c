"""Evidence (photos, documents) kept outside the history, addressed by SHA-256, and who uploaded each.

Events carry only the reference (hash, size, media type, location); the bytes live in a folder, written
once under their own hash, so storing the same photo twice is harmless and tampering is detectable. The
uploads (`evidence_uploads`) say which unit brought each photo, so a command names only its own.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.domain.types import EvidenceRef, Point
from rectify.store.projections import CaseRow


class EvidenceError(ValueError):
    pass


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, media_type: str, location: Point | None = None) -> EvidenceRef:
        if len(data) > EVIDENCE_MAX_BYTES:
            raise EvidenceError(f"evidence is {len(data)} bytes; at most {EVIDENCE_MAX_BYTES} are accepted")
        if not data:
            raise EvidenceError("evidence is empty")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)  # atomic: a reader never sees half a photo
        return EvidenceRef(sha256=digest, size=len(data), media_type=media_type, location=location)

    def put_file(self, path: Path, location: Point | None = None) -> EvidenceRef:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise EvidenceError(f"cannot read evidence file {path}: {error.strerror}") from None
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return self.put(data, media_type, location)

    def get(self, sha256: str) -> bytes:
        data = self.path_for(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise EvidenceError(f"evidence {sha256} does not match its hash: it was changed on disk")
        return data


@dataclass(frozen=True)
class Upload:
    sha256: str
    unit_id: str
    size: int
    media_type: str


class EvidenceRecords:
    """Who uploaded which photo, and which cases name one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record_upload(self, sha256: str, unit_id: str, key_id: str | None, size: int, media_type: str) -> None:
        await self.pool.execute(
            "INSERT INTO evidence_uploads (sha256, unit_id, key_id, size, media_type) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (sha256, unit_id) DO NOTHING",
            sha256,
            unit_id,
            key_id,
            size,
            media_type,
        )

    async def uploads(self, sha256s: Sequence[str]) -> list[Upload]:
        rows = await self.pool.fetch(
            "SELECT sha256, unit_id, size, media_type FROM evidence_uploads WHERE sha256 = ANY($1::text[])",
            list(sha256s),
        )
        return [Upload(r["sha256"], r["unit_id"], r["size"], r["media_type"]) for r in rows]

    async def cases_naming(self, sha256: str) -> list[CaseRow]:
        """The cases whose reports or submissions carry this photo."""
        rows = await self.pool.fetch(
            """SELECT c.* FROM cases c WHERE c.case_id IN (
                   SELECT e.case_id FROM events e WHERE e.body -> 'evidence' @> $1::jsonb)""",
            [{"sha256": sha256}],  # the pool's jsonb codec encodes it
        )
        return [CaseRow(**dict(r)) for r in rows]
