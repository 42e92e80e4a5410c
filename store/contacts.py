"""Reporters' contacts (`reporter_contacts`): kept beside the case, never in its events (they are personal)."""

from __future__ import annotations

import json

import asyncpg


async def save_contact(pool: asyncpg.Pool, case_id: str, report_key: str, contact: dict[str, str]) -> None:
    await pool.execute(
        "INSERT INTO reporter_contacts (case_id, report_key, contact) VALUES ($1, $2, $3) "
        "ON CONFLICT (report_key) DO NOTHING",
        case_id,
        report_key,
        json.loads(json.dumps(contact)),
    )
