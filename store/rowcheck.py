"""What one stored event row must agree with, column by column (docs/audit.md has the table).

The body is hashed into its case's chain, so every column that repeats a field of the body is compared with
it. The two columns the database assigns after the client hashed, position and recorded_at, are covered by
the case's seal chain (migration 0009), checked by `domain.canonical.SealCheck`, which the bundle's verifier
shares.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any

import asyncpg


def _instant(value: Any) -> Any:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value


#: Every column of `events` that repeats a field of the hashed body, in the order `column_problems` reads them.
BODY_COLUMNS = (
    "case_id",
    "version",
    "event_id",
    "type",
    "actor_unit",
    "actor_role",
    "occurred_at",
    "causation_id",
    "correlation_id",
    "schema_version",
)
_read_columns = itemgetter(*BODY_COLUMNS)


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def column_problems(row: asyncpg.Record, body: dict) -> list[str]:
    """Each column of the row that differs from the body it was hashed with."""
    actor = body.get("actor")
    actor = actor if isinstance(actor, dict) else {}
    said = (
        body.get("case_id"),
        body.get("version"),
        body.get("event_id"),
        body.get("type"),
        actor.get("unit_id"),
        actor.get("role"),
        _instant(body.get("occurred_at")),
        body.get("causation_id"),
        body.get("correlation_id"),
        body.get("schema_version"),
    )
    stored = _read_columns(row)
    if stored == said:  # the common case, checked at once
        return []
    pairs = zip(BODY_COLUMNS, stored, said, strict=True)
    return [
        f"column {column}: the row says {_show(value)}, the hashed body {_show(expected)}"
        for column, value, expected in pairs
        if value != expected
    ]
