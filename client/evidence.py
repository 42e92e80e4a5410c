"""Photos as evidence, checked alike for the API and the pages: type by content (Pillow), a size limit, EXIF
time and GPS when present; who uploaded each one, so a command can name only photos its unit uploaded; and
who may read one.

The API and the CLI take photos through `keep_photo`, so both refuse the same files.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError

from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.domain.types import EvidenceRef, Point, Role
from rectify.store.evidence import EvidenceRecords, EvidenceStore

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class EvidenceRejected(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are, or None when they are no image we accept."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return ALLOWED.get(image.format or "")
    except (UnidentifiedImageError, OSError):
        return None


def _gps(exif: Any) -> Point | None:
    info = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if not info or 2 not in info or 4 not in info:
        return None

    def degrees(value: Any, ref: str) -> float:
        d, m, s = (float(x) for x in value)
        sign = -1 if ref in ("S", "W") else 1
        return sign * (d + m / 60 + s / 3600)

    try:
        return Point(lat=degrees(info[2], info.get(1, "N")), lon=degrees(info[4], info.get(3, "E")))
    except (ValueError, TypeError, ZeroDivisionError):
        return None


def inspect_photo(data: bytes, max_bytes: int = EVIDENCE_MAX_BYTES) -> str:
    """The photo's media type, by its content; `EvidenceRejected` when it is too large, empty or no image."""
    if len(data) > max_bytes:
        raise EvidenceRejected(f"file: larger than {max_bytes // (1024 * 1024)} MiB", status=413)
    if not data:
        raise EvidenceRejected("file: empty")
    media_type = sniff(data)
    if media_type is None:
        raise EvidenceRejected(
            f"file: not an accepted image (JPEG, PNG or WebP by content: {', '.join(ALLOWED)})", status=415
        )
    return media_type


def accept_photo(
    store: EvidenceStore, data: bytes, given: Point | None, max_bytes: int = EVIDENCE_MAX_BYTES
) -> tuple[EvidenceRef, dict]:
    """Check the photo (`inspect_photo`), read its EXIF time and GPS, and keep it under its SHA-256."""
    media_type = inspect_photo(data, max_bytes)
    exif_facts: dict[str, Any] = {}
    location = given
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        taken = exif.get(ExifTags.Base.DateTime) or exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
        if taken:
            exif_facts["taken_at"] = str(taken)
        gps = _gps(exif)
        if gps is not None:
            exif_facts["gps"] = gps.model_dump()
            location = location or gps
    return store.put(data, media_type, location), exif_facts


async def keep_photo(
    store: EvidenceStore,
    records: EvidenceRecords,
    unit_id: str,
    key_id: str | None,
    data: bytes,
    given: Point | None,
    max_bytes: int = EVIDENCE_MAX_BYTES,
) -> tuple[EvidenceRef, dict]:
    """`accept_photo`, and the upload recorded under the uploading unit."""
    ref, exif = accept_photo(store, data, given, max_bytes)
    await records.record_upload(ref.sha256, unit_id, key_id, ref.size, ref.media_type)
    return ref, exif


async def check_evidence(
    store: EvidenceStore, records: EvidenceRecords, refs: Sequence[dict], owners: AbstractSet[str | None]
) -> str | None:
    """Why a command may not name these photos, or None: each must have been uploaded by one of `owners`
    (the acting unit, the case's lead unit), as that upload described it, and still be in the store."""
    uploads = defaultdict(list)
    for upload in await records.uploads([r["sha256"] for r in refs]):
        uploads[upload.sha256].append(upload)
    for index, ref in enumerate(refs):
        sha = ref["sha256"]
        theirs = [u for u in uploads[sha] if u.unit_id in owners]
        if not theirs:
            return f"evidence[{index}]: photo {sha} was not uploaded by this unit; upload it first (POST /v1/evidence)"
        if (ref["size"], ref["media_type"]) != (theirs[0].size, theirs[0].media_type):
            return f"evidence[{index}]: size and media_type must be those the upload returned"
        if not store.path_for(sha).exists():
            return f"evidence[{index}]: photo {sha} is no longer in the evidence store; upload it again"
    return None


#: Who reads any photo: the offices that dispatch, verify, audit and judge. Units read their own cases'.
READS_ALL_EVIDENCE = frozenset({Role.DISPATCHER, Role.INSPECTOR, Role.AUDITOR, Role.REVIEWER})


async def may_read_evidence(records: EvidenceRecords, unit_id: str, role: Role, sha256: str) -> bool:
    if role in READS_ALL_EVIDENCE:
        return True
    if role is not Role.UNIT:
        return False
    if any(u.unit_id == unit_id for u in await records.uploads([sha256])):
        return True
    return any(
        unit_id in (case.lead_unit, case.territorial_unit, case.guarantee_unit, case.road_chief)
        for case in await records.cases_naming(sha256)
    )
