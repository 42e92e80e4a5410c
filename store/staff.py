"""Staff accounts, their sign-ins and the sign-in throttle (migration 0010): the SQL behind web/accounts.py.

Times come from the database's clock, so replicas of the web server agree on windows and locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from rectify.domain.types import Frozen


class StaffUser(Frozen):
    name: str
    unit_id: str
    role: str
    password_hash: str
    session_generation: int
    disabled_at: datetime | None
    created_at: datetime
    password_changed_at: datetime
    #: An inspector's area: the territorial units it verifies in (empty: the whole district).
    areas: tuple[str, ...] = ()

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class SignIn(Frozen):
    signin_id: int
    at: datetime
    name: str
    address: str
    ok: bool
    reason: str


class StaffExists(ValueError):
    pass


class NoSuchStaff(LookupError):
    pass


def _user(row: asyncpg.Record) -> StaffUser:
    return StaffUser(**dict(row))


class StaffStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # -- accounts -------------------------------------------------------------------------------
    async def create(
        self, name: str, unit_id: str, role: str, password_hash: str, areas: Sequence[str] = ()
    ) -> StaffUser:
        try:
            row = await self.pool.fetchrow(
                """INSERT INTO staff_users (name, unit_id, role, password_hash, areas)
                   VALUES ($1, $2, $3, $4, $5::text[]) RETURNING *""",
                name,
                unit_id,
                role,
                password_hash,
                list(areas),
            )
        except asyncpg.UniqueViolationError:
            raise StaffExists(f"an account named {name!r} already exists") from None
        return _user(row)

    async def get(self, name: str) -> StaffUser | None:
        row = await self.pool.fetchrow("SELECT * FROM staff_users WHERE name = $1", name)
        return _user(row) if row else None

    async def list(self) -> list[StaffUser]:
        return [_user(r) for r in await self.pool.fetch("SELECT * FROM staff_users ORDER BY unit_id, role, name")]

    async def set_areas(self, name: str, areas: Sequence[str]) -> StaffUser:
        row = await self.pool.fetchrow(
            "UPDATE staff_users SET areas = $2::text[] WHERE name = $1 RETURNING *", name, list(areas)
        )
        if row is None:
            raise NoSuchStaff(name)
        return _user(row)

    async def disable(self, name: str) -> StaffUser:
        """Disable the account and end its sessions (a disabled account stays disabled, once recorded)."""
        row = await self.pool.fetchrow(
            """UPDATE staff_users SET disabled_at = coalesce(disabled_at, clock_timestamp()),
                      session_generation = session_generation + 1
               WHERE name = $1 RETURNING *""",
            name,
        )
        if row is None:
            raise NoSuchStaff(name)
        return _user(row)

    async def set_password(self, name: str, password_hash: str, *, end_sessions: bool = True) -> StaffUser:
        """A new password hash; ends the account's sessions unless it is only a re-hash of the same password."""
        row = await self.pool.fetchrow(
            """UPDATE staff_users SET password_hash = $2,
                      password_changed_at = CASE WHEN $3 THEN clock_timestamp() ELSE password_changed_at END,
                      session_generation = session_generation + CASE WHEN $3 THEN 1 ELSE 0 END
               WHERE name = $1 RETURNING *""",
            name,
            password_hash,
            end_sessions,
        )
        if row is None:
            raise NoSuchStaff(name)
        return _user(row)

    # -- sign-ins -------------------------------------------------------------------------------
    async def record_signin(self, name: str, address: str, ok: bool, reason: str) -> None:
        await self.pool.execute(
            "INSERT INTO staff_signins (name, address, ok, reason) VALUES ($1, $2, $3, $4)",
            name[:200],
            address[:100],
            ok,
            reason,
        )

    async def signins(self, name: str | None = None, limit: int = 100) -> list[SignIn]:
        rows = await self.pool.fetch(
            """SELECT * FROM staff_signins WHERE ($1::text IS NULL OR name = $1)
               ORDER BY at DESC, signin_id DESC LIMIT $2""",
            name,
            limit,
        )
        return [SignIn(**dict(r)) for r in rows]

    # -- the throttle ---------------------------------------------------------------------------
    async def locked_for(self, keys: list[str]) -> timedelta | None:
        """How much longer the longest lock among `keys` lasts, or None when none is locked."""
        left = await self.pool.fetchval(
            "SELECT max(locked_until) - clock_timestamp() FROM staff_signin_throttle "
            "WHERE key = ANY($1::text[]) AND locked_until > clock_timestamp()",
            keys,
        )
        return left

    async def count_failure(self, key: str, limit: int, window: timedelta, lock: timedelta) -> timedelta | None:
        """Count one failure for `key` in its window; at `limit` failures lock it for `lock`. Returns the lock left."""
        # A window older than `window` starts again at one failure; the lock is set when the count reaches `limit`.
        row = await self.pool.fetchrow(
            """WITH now AS (SELECT clock_timestamp() AS t)
               INSERT INTO staff_signin_throttle AS s (key, failures, window_start, locked_until)
               SELECT $1, 1, now.t, CASE WHEN $2::int <= 1 THEN now.t + $4::interval END FROM now
               ON CONFLICT (key) DO UPDATE SET
                   failures = CASE WHEN s.window_start < (SELECT t FROM now) - $3::interval
                                   THEN 1 ELSE s.failures + 1 END,
                   window_start = CASE WHEN s.window_start < (SELECT t FROM now) - $3::interval
                                       THEN (SELECT t FROM now) ELSE s.window_start END,
                   locked_until = CASE
                       WHEN (CASE WHEN s.window_start < (SELECT t FROM now) - $3::interval
                                  THEN 1 ELSE s.failures + 1 END) >= $2::int
                       THEN (SELECT t FROM now) + $4::interval ELSE s.locked_until END
               RETURNING CASE WHEN locked_until > clock_timestamp()
                              THEN locked_until - clock_timestamp() END AS left""",
            key,
            limit,
            window,
            lock,
        )
        return row["left"]

    async def clear(self, key: str) -> None:
        await self.pool.execute("DELETE FROM staff_signin_throttle WHERE key = $1", key)
