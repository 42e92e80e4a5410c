"""API keys per actor: `rk_<id>_<secret>`; only the secret's SHA-256 is stored, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from rectify.client.access import area_problem
from rectify.domain.policy import Policy
from rectify.domain.types import Actor, Frozen, Role
from rectify.store.keys import KeyRecords


class ApiKey(Frozen):
    key_id: str
    unit_id: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None = None
    #: An inspector key's area: the streets and towns whose cases it may act on (empty: the whole district).
    areas: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        return Actor(unit_id=self.unit_id, role=self.role)


class ApiKeyError(ValueError):
    """An unknown, malformed or revoked key, or one that may not be made."""


#: Staff roles act for one of the city's units; reporters are apps or channel accounts, and auditors an
#: audit office: both are named outside the city's unit list. `system` is the engine's own clock.
UNIT_ROLES = frozenset({Role.UNIT, Role.DISPATCHER, Role.INSPECTOR, Role.REVIEWER})
KEY_ROLES = frozenset(Role) - {Role.SYSTEM}
_NAME = re.compile(r"^[a-z][a-z0-9_\-]{1,63}$")


def check_holder(policy: Policy, unit_id: str, role: Role, areas: Sequence[str] = ()) -> tuple[str, ...]:
    """Refuse a key no one should hold: role `system`, a unit not in the city, a dispatcher outside the
    dispatching offices, a reporter or auditor name that is not a plain identifier, or an area given to a key
    other than an inspector's or naming no street or town of the city. Returns the area, each unit once."""
    if role not in KEY_ROLES:
        raise ApiKeyError(
            f"role {role.value!r} cannot hold a key; roles a key may hold: "
            f"{', '.join(sorted(r.value for r in KEY_ROLES))}"
        )
    if role in UNIT_ROLES and unit_id not in policy.units:
        raise ApiKeyError(f"unit {unit_id!r} is not a unit of {policy.city}; see its units.toml")
    if role is Role.DISPATCHER and policy.dispatcher_units and unit_id not in policy.dispatcher_units:
        raise ApiKeyError(f"{unit_id!r} is not a dispatching office ({', '.join(policy.dispatcher_units)})")
    if role not in UNIT_ROLES and not _NAME.match(unit_id):
        raise ApiKeyError(f"{role.value} key holder {unit_id!r}: a name of 2-64 lower-case letters, digits, _ or -")
    if problem := area_problem(policy, areas, inspector=role is Role.INSPECTOR, holder="key"):
        raise ApiKeyError(problem if role is Role.INSPECTOR else f"{problem}, not a {role.value} key")
    return tuple(dict.fromkeys(areas))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class KeyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.records = KeyRecords(pool)

    async def create(
        self, unit_id: str, role: Role, label: str = "", *, policy: Policy | None = None, areas: Sequence[str] = ()
    ) -> tuple[str, ApiKey]:
        """A new key: the full key is returned once and never stored. With `policy`, the holder (and the area
        of an inspector's key) is checked."""
        if policy is not None:
            areas = check_holder(policy, unit_id, role, areas)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
        row = await self.records.insert(key_id, _hash(secret), unit_id, role.value, label, areas)
        return f"rk_{key_id}_{secret}", _key(row)

    async def list(self) -> list[ApiKey]:
        return [_key(r) for r in await self.records.all()]

    async def revoke(self, key_id: str) -> ApiKey:
        row = await self.records.revoke(key_id)
        if row is None:
            raise ApiKeyError(f"no key {key_id}")
        return _key(row)

    async def verify(self, presented: str) -> ApiKey:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != "rk" or not parts[1].isalnum() or not parts[1].isascii():
            raise ApiKeyError("malformed api key")
        row = await self.records.get(parts[1])
        if row is None or not hmac.compare_digest(row["secret_hash"], _hash(parts[2])):
            raise ApiKeyError("unknown api key")
        if row["revoked_at"] is not None:
            raise ApiKeyError("this api key was revoked")
        return _key(row)


def _key(row: asyncpg.Record) -> ApiKey:
    fields = {k: row[k] for k in ("key_id", "unit_id", "role", "label", "created_at", "revoked_at")}
    return ApiKey(**fields, areas=tuple(row["areas"]))
