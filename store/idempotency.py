"""Idempotency records, as the IETF httpapi idempotency-key draft asks of a server.

A key belongs to a scope (its caller) and is bound to one operation and one fingerprint of the
request. The first request takes the key (`running`, under a lease); a repeat with another operation
or body is a mismatch (HTTP 422), one while the first still runs is in flight (HTTP 409), and one after
it finished gets the stored response back. A lease that ran out (the process died mid-request) may be
taken over by the next attempt with the same operation and body.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import asyncpg


def fingerprint(payload: Any) -> str:
    """SHA-256 of the payload's canonical JSON: the same data, however it was spelled, has one fingerprint."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """What taking a key found: `new` (go ahead), `mismatch`, `in_flight`, or `done` with the stored response."""

    outcome: Literal["new", "mismatch", "in_flight", "done"]
    operation: str = ""
    status: int | None = None
    media_type: str | None = None
    response: bytes | None = None


class IdempotencyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(
        self, scope: str, key: str, operation: str, fingerprint: str, lease: timedelta = timedelta(minutes=2)
    ) -> Claim:
        row = await self.pool.fetchrow(
            """INSERT INTO idempotency_records AS r (scope, key, operation, fingerprint, state, lease_until)
               VALUES ($1, $2, $3, $4, 'running', clock_timestamp() + $5::interval)
               ON CONFLICT (scope, key) DO UPDATE SET lease_until = EXCLUDED.lease_until
                   WHERE r.state = 'running' AND r.lease_until < clock_timestamp()
                     AND r.operation = EXCLUDED.operation AND r.fingerprint = EXCLUDED.fingerprint
               RETURNING true AS taken""",
            scope,
            key,
            operation,
            fingerprint,
            lease,
        )
        if row is not None:
            return Claim("new")
        held = await self.pool.fetchrow(
            "SELECT operation, fingerprint, state, status, media_type, response FROM idempotency_records "
            "WHERE scope = $1 AND key = $2",
            scope,
            key,
        )
        if held is None:  # released between the two statements: the next attempt takes it
            return Claim("in_flight")
        if held["operation"] != operation or held["fingerprint"] != fingerprint:
            return Claim("mismatch", operation=held["operation"])
        if held["state"] == "running":
            return Claim("in_flight", operation=held["operation"])
        return Claim("done", held["operation"], held["status"], held["media_type"], held["response"])

    async def finish(self, scope: str, key: str, status: int, media_type: str | None, response: bytes) -> None:
        await self.pool.execute(
            """UPDATE idempotency_records SET state = 'done', lease_until = NULL, status = $3, media_type = $4,
                   response = $5, finished_at = clock_timestamp() WHERE scope = $1 AND key = $2""",
            scope,
            key,
            status,
            media_type,
            response,
        )

    async def release(self, scope: str, key: str) -> None:
        """Give a running key back (the request failed on our side): a retry may run it again."""
        await self.pool.execute(
            "DELETE FROM idempotency_records WHERE scope = $1 AND key = $2 AND state = 'running'", scope, key
        )

    async def bind(self, scope: str, key: str, operation: str, fingerprint: str) -> str | None:
        """Bind a key to one operation and fingerprint for good, with no stored response (the SDK's command
        ids: Temporal answers a repeated update itself). Returns the operation it is bound to when that is
        another operation or body, else None."""
        held = await self.pool.fetchrow(
            """WITH new AS (
                   INSERT INTO idempotency_records (scope, key, operation, fingerprint, state, finished_at)
                   VALUES ($1, $2, $3, $4, 'done', clock_timestamp()) ON CONFLICT (scope, key) DO NOTHING
                   RETURNING operation, fingerprint)
               SELECT operation, fingerprint FROM new
               UNION ALL
               SELECT operation, fingerprint FROM idempotency_records WHERE scope = $1 AND key = $2
               LIMIT 1""",
            scope,
            key,
            operation,
            fingerprint,
        )
        if held is None or (held["operation"], held["fingerprint"]) == (operation, fingerprint):
            return None
        return held["operation"]
