"""Text a command carries: only what PostgreSQL text and jsonb can store, and no longer than the policy allows.

Each command model marks its free-text fields with `Text(kind)`; every other string in a command (ids, unit
ids, media types, nested in any model) is checked as a single line. `check_text` runs at the top of `decide`
(so the workflow's update validator refuses the command before it touches history) and in the SDK before a
command is sent. A refusal is an `InvalidText` naming the field, the rule `invalid_text` and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import cast

from pydantic import BaseModel

from rectify.domain.errors import InvalidText


class TextKind(StrEnum):
    DESCRIPTION = "description"
    REASON = "reason"
    NOTE = "note"
    ADDRESS = "address"
    EXPLANATION = "explanation"
    URL = "url"
    #: Ids, unit ids and the like: one line, length left to the model's own constraints.
    NAME = "name"


@dataclass(frozen=True)
class Text:
    """Field metadata: this string is free text of `kind`; `required` refuses a blank one."""

    kind: TextKind
    required: bool = False


#: Prose may hold tabs and line breaks; NUL, other C0/C1 controls, DEL and lone surrogates never (PostgreSQL
#: text refuses NUL, jsonb refuses the \u0000 escape, and UTF-8 cannot encode a lone surrogate).
_BAD_IN_PROSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_PROSE = frozenset({TextKind.DESCRIPTION, TextKind.REASON, TextKind.NOTE, TextKind.EXPLANATION})


def text_problem(value: str, kind: TextKind, limit: int | None, *, required: bool = False) -> str | None:
    """What is wrong with `value` as text of `kind` (None when it is fine)."""
    if limit is not None and len(value) > limit:
        return f"has {len(value)} characters; at most {limit} are allowed"
    if required and not value.strip():
        return "is empty"
    bad = (_BAD_IN_PROSE if kind in _PROSE else _BAD_IN_LINE).search(value)
    if bad is not None:
        char = bad.group()
        what = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
        return f"holds {what} (U+{ord(char):04X}) at position {bad.start()}, which cannot be stored"
    return None


def _limit(kind: TextKind, limits: dict[TextKind, int]) -> int | None:
    return limits.get(kind)


def _walk(model: BaseModel, path: str) -> Iterator[tuple[str, str, Text | None]]:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        marker = next((m for m in field.metadata if isinstance(m, Text)), None)
        yield from _values(value, f"{path}{name}", marker)


def _values(value: object, path: str, marker: Text | None) -> Iterator[tuple[str, str, Text | None]]:
    if isinstance(value, Enum):
        return  # a member of a closed set, valid by construction
    if isinstance(value, str):
        yield path, value, marker
    elif isinstance(value, BaseModel):
        yield from _walk(value, f"{path}.")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(cast("Iterable[object]", value)):
            yield from _values(item, f"{path}[{i}]", marker)
    elif isinstance(value, dict):
        for key, item in cast("dict[object, object]", value).items():
            yield from _values(key, f"{path} key", None)
            yield from _values(item, f"{path}[{key!r}]", marker)


def check_text(command: BaseModel, limits: dict[TextKind, int], *, case_id: str | None = None) -> None:
    """Refuse the command if any string in it cannot be stored or is longer than `limits` allows."""
    for path, value, marker in _walk(command, ""):
        kind = marker.kind if marker else TextKind.NAME
        problem = text_problem(value, kind, _limit(kind, limits), required=bool(marker and marker.required))
        if problem is not None:
            raise InvalidText(f"{path} {problem}", case_id=case_id)
