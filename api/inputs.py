"""Text a client sends, checked at the HTTP edge before anything reads or stores it.

PostgreSQL text cannot hold NUL, and a lone surrogate (JSON "\\ud800") cannot be encoded at all:
either would fail deep inside a query or an append. They are refused here, naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, Field


def unstorable(text: str) -> str | None:
    """Why this text cannot be stored, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not valid Unicode text"
    return None


def _storable(text: str) -> str:
    if (problem := unstorable(text)) is not None:
        raise ValueError(problem)
    return text


#: A string a client sends (body, form, query or path): refused with 400 when it cannot be stored. The
#: pattern only tells the OpenAPI document (and schemathesis) so; the validator gives the message.
Text = Annotated[str, Field(json_schema_extra={"pattern": r"^[^\u0000]*$"}), AfterValidator(_storable)]


def first_unstorable(named: Iterable[tuple[str, str]]) -> str | None:
    """'field: why' for the first name or value that cannot be stored, else None."""
    for name, value in named:
        if (problem := unstorable(name)) is not None:
            return f"a parameter name {problem}"
        if (problem := unstorable(value)) is not None:
            return f"{name[:60]}: {problem}"
    return None
