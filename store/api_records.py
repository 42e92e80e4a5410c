"""What the HTTP API reads and writes beside the events: keys, reporters' contacts, photo uploads, and
the case-list queries behind Open311 and /v1. All of the API's SQL lives here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from rectify.store.projections import CaseRow


@dataclass(frozen=True)
class Upload:
    sha256: str
    unit_id: str
    size: int
    media_type: str


class ApiRecords:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # -- API keys (only the secret's SHA-256) -----------------------------------------------------
    async def insert_key(self, key_id: str, secret_hash: str, unit_id: str, role: str, label: str) -> asyncpg.Record:
        return await self.pool.fetchrow(
            "INSERT INTO api_keys (key_id, secret_hash, unit_id, role, label) VALUES ($1, $2, $3, $4, $5) RETURNING *",
            key_id,
            secret_hash,
            unit_id,
            role,
            label,
        )

    async def keys(self) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM api_keys ORDER BY created_at, key_id")

    async def key(self, key_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", key_id)

    async def revoke_key(self, key_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE key_id = $1 RETURNING *",
            key_id,
        )

    # -- reporters' contacts (never in events) ------------------------------------------------------
    async def save_contact(self, case_id: str, report_key: str, contact: dict[str, str]) -> None:
        await self.pool.execute(
            "INSERT INTO reporter_contacts (case_id, report_key, contact) VALUES ($1, $2, $3) "
            "ON CONFLICT (report_key) DO NOTHING",
            case_id,
            report_key,
            json.loads(json.dumps(contact)),
        )

    # -- photos: who uploaded them, and which cases name them --------------------------------------------
    async def record_upload(self, sha256: str, unit_id: str, key_id: str | None, size: int, media_type: str) -> None:
        await self.pool.execute(
            "INSERT INTO evidence_uploads (sha256, unit_id, key_id, size, media_type) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (sha256, unit_id) DO NOTHING",
            sha256,
            unit_id,
            key_id,
            size,
            media_type,
        )

    async def uploads(self, sha256s: Sequence[str]) -> list[Upload]:
        rows = await self.pool.fetch(
            "SELECT sha256, unit_id, size, media_type FROM evidence_uploads WHERE sha256 = ANY($1::text[])",
            list(sha256s),
        )
        return [Upload(r["sha256"], r["unit_id"], r["size"], r["media_type"]) for r in rows]

    async def cases_naming(self, sha256: str) -> list[CaseRow]:
        """The cases whose reports or submissions carry this photo."""
        rows = await self.pool.fetch(
            """SELECT c.* FROM cases c WHERE c.case_id IN (
                   SELECT e.case_id FROM events e WHERE e.body -> 'evidence' @> $1::jsonb)""",
            [{"sha256": sha256}],  # the pool's jsonb codec encodes it
        )
        return [CaseRow(**dict(r)) for r in rows]

    # -- case lists -------------------------------------------------------------------------------------
    async def requests_between(
        self,
        start: datetime,
        end: datetime,
        categories: Sequence[str] | None,
        closed: bool | None,
        closed_statuses: Sequence[str],
        limit: int,
    ) -> list[CaseRow]:
        """Open311's search: opened within [start, end], of some categories, open or closed, newest first."""
        rows = await self.pool.fetch(
            """SELECT * FROM cases WHERE opened_at >= $1 AND opened_at <= $2
               AND ($3::text[] IS NULL OR category = ANY($3::text[]))
               AND ($4::boolean IS NULL OR $4 = (status = ANY($5::text[])))
               ORDER BY opened_at DESC, case_id LIMIT $6""",
            start,
            end,
            list(categories) if categories is not None else None,
            closed,
            list(closed_statuses),
            limit,
        )
        return [CaseRow(**dict(r)) for r in rows]

    async def cases_by_id(self, case_ids: Sequence[str]) -> list[CaseRow]:
        rows = await self.pool.fetch("SELECT * FROM cases WHERE case_id = ANY($1::text[])", list(case_ids))
        found = {r["case_id"]: CaseRow(**dict(r)) for r in rows}
        return [found[i] for i in dict.fromkeys(case_ids) if i in found]

    async def cases_page(
        self,
        *,
        status: str | None,
        category: str | None,
        lead_unit: str | None,
        grid_id: str | None,
        escalation_level: int | None,
        after: tuple[datetime, str] | None,
        newest_first: bool,
        limit: int,
    ) -> list[CaseRow]:
        """One page of the case list. Keyset pagination: `after` is the last row's (opened_at, case_id)."""
        order, beyond = ("DESC", "<") if newest_first else ("ASC", ">")
        opened, after_id = after or (None, None)
        rows = await self.pool.fetch(
            f"""SELECT * FROM cases WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR category = $2)
               AND ($3::text IS NULL OR lead_unit = $3) AND ($4::text IS NULL OR grid_id = $4)
               AND ($5::int IS NULL OR escalation_level = $5)
               AND ($6::timestamptz IS NULL OR (opened_at, case_id) {beyond} ($6, $7))
               ORDER BY opened_at {order}, case_id {order} LIMIT $8""",
            status,
            category,
            lead_unit,
            grid_id,
            escalation_level,
            opened,
            after_id,
            limit,
        )
        return [CaseRow(**dict(r)) for r in rows]
