"""What one stored event row must agree with, column by column (docs/audit.md has the table).

The body is hashed into its case's chain, so every column that repeats a field of the body is compared with
it. The two columns the database assigns after the client hashed, position and recorded_at, are covered by
the case's seal chain (migration 0009), checked by `domain.canonical.SealCheck`, which the bundle's verifier
shares.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg


def _instant(value: Any) -> Any:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value


def _actor(field: str) -> Callable[[dict], Any]:
    return lambda body: actor.get(field) if isinstance(actor := body.get("actor"), dict) else None


#: Every column of `events` that repeats a field of the hashed body, and how to read that field.
BODY_FIELDS: dict[str, Callable[[dict], Any]] = {
    "case_id": lambda body: body.get("case_id"),
    "version": lambda body: body.get("version"),
    "event_id": lambda body: body.get("event_id"),
    "type": lambda body: body.get("type"),
    "actor_unit": _actor("unit_id"),
    "actor_role": _actor("role"),
    "occurred_at": lambda body: _instant(body.get("occurred_at")),
    "causation_id": lambda body: body.get("causation_id"),
    "correlation_id": lambda body: body.get("correlation_id"),
    "schema_version": lambda body: body.get("schema_version"),
}


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def column_problems(row: asyncpg.Record, body: dict) -> list[str]:
    """Each column of the row that differs from the body it was hashed with."""
    problems = []
    for column, field in BODY_FIELDS.items():
        said = field(body)
        if row[column] != said:
            problems.append(f"column {column}: the row says {_show(row[column])}, the hashed body {_show(said)}")
    return problems
