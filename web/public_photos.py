"""Photos on the public pages: which of a case's photos may be shown, and the copy that is shown.

The rule (docs/public.md): a photo reaches the public only after a person in charge has seen it and taken the case
on. A reporter's photo is published once the responsible unit has claimed the case (a photo unfit to show, a face or
a licence plate or abuse, is a report the office rejects instead, and a rejected, withdrawn or merged case publishes
no photo); the unit's photos of the fix are published once the inspector has passed them (the case closed after that
submission). The copy published is drawn again from the pixels: no EXIF (time, camera, GPS), no text chunks, turned
upright, at most 1600 px, as JPEG. The original, with its EXIF, stays evidence for the staff and the audit.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence

from PIL import Image, ImageOps

from rectify.domain import events as e
from rectify.store.evidence import EvidenceStore

LONGEST_SIDE = 1600
#: (sha256, caption) of each photo a case's public page shows, in the order of the record.
Published = list[tuple[str, str]]


def published(events: Sequence[e.EventBase]) -> Published:
    """The photos of a case that the public may see, by the rule above."""
    reported: list[str] = []
    fixes: list[list[str]] = []  # each submission's photos; passed when a closure follows it
    claimed = withheld = False
    passed: list[str] = []
    for event in events:
        match event:
            case e.CaseReported(evidence=evidence):
                reported += [ref.sha256 for ref in evidence]
            case e.CaseClaimed():
                claimed = True
            case e.RectificationSubmitted(evidence=evidence):
                fixes.append([ref.sha256 for ref in evidence])
            case e.CaseClosed():
                passed += fixes[-1] if fixes else []
            case e.CaseRejected() | e.CaseWithdrawn() | e.CaseMerged():
                withheld = True
            case _:
                pass
    if withheld:
        return []
    shown = [(sha, "报告时照片") for sha in reported] if claimed else []
    shown += [(sha, "整改后照片") for sha in dict.fromkeys(passed)]
    return list(dict.fromkeys(shown))


def public_copy(store: EvidenceStore, sha256: str) -> bytes:
    """The published copy of a kept photo (made once, then read from the folder beside the evidence)."""
    target = store.root / "public" / sha256[:2] / f"{sha256}.jpg"
    if target.exists():
        return target.read_bytes()
    data = strip(store.get(sha256))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, target)  # atomic: a reader never sees half a photo
    return data


def strip(data: bytes) -> bytes:
    """The picture alone: pixels drawn again into a new JPEG, which carries no metadata of the original."""
    with Image.open(io.BytesIO(data)) as original:
        upright = ImageOps.exif_transpose(original)  # the orientation tag goes; the picture stays the right way up
        picture = upright.convert("RGB")
    picture.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    clean = Image.new("RGB", picture.size)
    clean.paste(picture)  # a fresh image: nothing of the original's info dictionary comes along
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()
