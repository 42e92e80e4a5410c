"""Photos as evidence: type by content (Pillow), a size limit, EXIF time and GPS when present."""

from __future__ import annotations

import io
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError

from rectify.activities.evidence import EvidenceStore
from rectify.domain.types import EvidenceRef, Point

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


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


def accept_photo(
    store: EvidenceStore, data: bytes, given: Point | None, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[EvidenceRef, dict]:
    if len(data) > max_bytes:
        raise EvidenceRejected(f"file: larger than {max_bytes // (1024 * 1024)} MiB", status=413)
    if not data:
        raise EvidenceRejected("file: empty")
    media_type = sniff(data)
    if media_type is None:
        raise EvidenceRejected(f"file: not an accepted image (JPEG, PNG or WebP by content: {', '.join(ALLOWED)})",
                               status=415)  # fmt: skip
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
