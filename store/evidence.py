"""Evidence (photos, documents) kept outside the history, addressed by SHA-256.

Events carry only the reference (hash, size, media type, location); the bytes live here, written
once under their own hash, so storing the same photo twice is harmless and tampering is detectable.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from pathlib import Path

from rectify.domain.types import EvidenceRef, Point

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


class EvidenceError(ValueError):
    pass


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, media_type: str, location: Point | None = None) -> EvidenceRef:
        if len(data) > MAX_EVIDENCE_BYTES:
            raise EvidenceError(f"evidence is {len(data)} bytes; at most {MAX_EVIDENCE_BYTES} are accepted")
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
