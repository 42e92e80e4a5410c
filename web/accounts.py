"""Staff accounts: who may have one (role and unit), passwords (argon2), and signing in with a throttle.

The rules for a sane account live here; the rows live in store/staff.py. Used by the pages and by
`rectify users …`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rectify.client.access import area_problem
from rectify.domain.policy import Policy, UnitKind
from rectify.domain.types import Actor, Role
from rectify.store.staff import NoSuchStaff, StaffStore, StaffUser
from rectify.web.labels import STAFF_ROLE, UNIT_KIND

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,40}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_hasher = PasswordHasher()
#: Compared against when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffRole(StrEnum):
    DISPATCHER = "dispatcher"  # 派遣员: 创文办 / 指挥中心
    UNIT = "unit"  # 责任单位: a street, town, department or guarantee unit
    INSPECTOR = "inspector"  # 核查员: 督查组
    LEADER = "leader"  # 领导: reads rankings and cases
    AUDITOR = "auditor"  # 审计督查: reads everything, changes nothing

    @property
    def actor_role(self) -> Role | None:
        """The role this person acts in on a case, or None for one who only reads (leaders)."""
        return {
            "dispatcher": Role.DISPATCHER,
            "unit": Role.UNIT,
            "inspector": Role.INSPECTOR,
            "auditor": Role.AUDITOR,
        }.get(self.value)


class AccountError(ValueError):
    """A request about accounts that the rules refuse; the message says which rule, in English for the CLI."""


def check_account(policy: Policy, name: str, unit_id: str, role: str) -> StaffRole:
    """Refuse a name, unit or role/unit pair that makes no sense in this city; returns the role."""
    if not NAME_PATTERN.match(name):
        raise AccountError(f"name {name!r}: 2-40 letters, digits, Chinese characters, '_', '.' or '-'")
    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise AccountError(f"role {role!r}: one of {', '.join(r.value for r in StaffRole)}") from None
    unit = policy.units.get(unit_id)
    if unit is None:
        raise AccountError(f"unit {unit_id!r} is not a unit of {policy.city} (see city units.toml)")
    if staff_role is StaffRole.UNIT and unit.kind is UnitKind.OFFICE:
        raise AccountError(f"a unit account belongs to a responsible unit, not to the office {unit_id} ({unit.name})")
    if staff_role is StaffRole.DISPATCHER and unit_id not in policy.dispatcher_units:
        offices = ", ".join(policy.dispatcher_units) or "none"
        raise AccountError(f"a dispatcher belongs to a dispatching office ({offices}), not to {unit_id}")
    if staff_role in (StaffRole.INSPECTOR, StaffRole.LEADER, StaffRole.AUDITOR) and unit.kind is not UnitKind.OFFICE:
        offices = ", ".join(u for u, spec in policy.units.items() if spec.kind is UnitKind.OFFICE)
        raise AccountError(
            f"an {staff_role.value} account belongs to an office ({offices}), not to "
            f"{unit_id} ({UNIT_KIND.get(unit.kind.value, unit.kind.value)})"
        )
    return staff_role


def check_areas(policy: Policy, role: StaffRole, areas: Sequence[str]) -> tuple[str, ...]:
    """An inspector's area: streets and towns of the city, each once, in the order given; no other role has one."""
    inspector = role is StaffRole.INSPECTOR
    if problem := area_problem(policy, areas, inspector=inspector, holder="account"):
        raise AccountError(problem if inspector else f"{problem}, not a {role.value} account")
    return tuple(dict.fromkeys(areas))


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def new_password() -> str:
    """A generated password: 16 characters from an alphabet without look-alikes, easy to read out."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def actor_of(user: StaffUser) -> Actor | None:
    role = StaffRole(user.role).actor_role
    return Actor(unit_id=user.unit_id, role=role) if role else None


def role_label(user: StaffUser) -> str:
    return STAFF_ROLE.get(user.role, user.role)


@dataclass(frozen=True)
class Throttle:
    """Failed sign-ins allowed per account and per address within `window`, and how long a lock lasts."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInResult:
    user: StaffUser | None
    #: ok, throttled, unknown_account, wrong_password or disabled (as recorded in staff_signins)
    reason: str
    #: Set when the account or the address is locked now: how long to wait.
    wait: timedelta | None = None


class Accounts:
    def __init__(self, store: StaffStore, policy: Policy, throttle: Throttle | None = None) -> None:
        self.store, self.policy, self.throttle = store, policy, throttle or Throttle()

    async def create(
        self, name: str, unit_id: str, role: str, password: str | None, areas: Sequence[str] = ()
    ) -> tuple[StaffUser, str | None]:
        """A new account; returns it and the generated password when none was given."""
        kept = check_areas(self.policy, check_account(self.policy, name, unit_id, role), areas)
        generated = None
        if password is None:
            password = generated = new_password()
        check_password(password)
        return await self.store.create(name, unit_id, role, hash_password(password), kept), generated

    async def set_areas(self, name: str, areas: Sequence[str]) -> StaffUser:
        """Give an inspector another area (none: the whole district)."""
        user = await self.store.get(name)
        if user is None:
            raise NoSuchStaff(name)
        return await self.store.set_areas(name, check_areas(self.policy, StaffRole(user.role), areas))

    async def reset_password(self, name: str, password: str | None = None) -> tuple[StaffUser, str]:
        password = password or new_password()
        check_password(password)
        return await self.store.set_password(name, hash_password(password)), password

    async def sign_in(self, name: str, password: str, address: str) -> SignInResult:
        """Check the password unless a lock holds; count failures per account and per address; record it all."""
        keys = [f"account:{name.lower()}", f"address:{address}"]
        wait = await self.store.locked_for(keys)
        if wait is not None:
            await self.store.record_signin(name, address, False, "throttled")
            return SignInResult(None, "throttled", wait)
        user = await self.store.get(name)
        ok = _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        if ok and user is not None and not user.disabled:
            await self.store.clear(keys[0])
            if _hasher.check_needs_rehash(user.password_hash):
                user = await self.store.set_password(name, hash_password(password), end_sessions=False)
            await self.store.record_signin(name, address, True, "ok")
            return SignInResult(user, "ok")
        reason = "unknown_account" if user is None else ("disabled" if ok else "wrong_password")
        await self.store.record_signin(name, address, False, reason)
        t = self.throttle
        waits = [
            await self.store.count_failure(keys[0], t.per_account, t.window, t.lock),
            await self.store.count_failure(keys[1], t.per_address, t.window, t.lock),
        ]
        return SignInResult(None, reason, max((w for w in waits if w is not None), default=None))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
