"""督查通报 第N期: the record of one issued weekly bulletin (bulletins/ renders it; the activity returns it)."""

from __future__ import annotations

from rectify.domain.types import Frozen


class Bulletin(Frozen):
    week: str
    number: int
    #: file name -> SHA-256 of its bytes
    files: dict[str, str]
    #: The root of the audit checkpoint the bulletin prints, so readers keep a copy of it.
    checkpoint_root: str | None = None
