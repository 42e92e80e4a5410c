"""The demo's staff accounts, so that a newcomer can sign in at / after `make demo` and `rectify up`.

One account for each role, at the offices the city's data names (the first dispatching office; the first office
that does not dispatch inspects and audits; the first office leads), and one for each of the units with the most
open cases when the demo ends, so that those have work waiting. `rectify demo` prints them with their passwords.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import asyncpg

from rectify.domain.policy import Policy, UnitKind
from rectify.domain.types import OPEN_STATUSES
from rectify.store.read_models import busiest_units
from rectify.store.staff import StaffExists, StaffStore
from rectify.web.accounts import Accounts, StaffRole
from rectify.web.labels import unit_name

#: Unit accounts the demo makes.
UNIT_ACCOUNTS = 3


@dataclass(frozen=True)
class DemoAccount:
    name: str
    role: str
    unit_id: str
    unit_name: str
    password: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def roster(policy: Policy, units: list[str]) -> list[tuple[str, str, StaffRole]]:
    """(name, unit, role) of each demo account: the offices' people, then one account per unit in `units`."""
    offices = [u.id for u in policy.units.values() if u.kind is UnitKind.OFFICE]
    quiet = [o for o in offices if o not in policy.dispatcher_units] or offices
    people: list[tuple[str, str, StaffRole]] = []
    if policy.dispatcher_units:
        people.append(("dispatcher", policy.dispatcher_units[0], StaffRole.DISPATCHER))
    if offices:
        people += [
            ("inspector", quiet[0], StaffRole.INSPECTOR),
            ("leader", offices[0], StaffRole.LEADER),
            ("auditor", quiet[0], StaffRole.AUDITOR),
        ]
    return people + [(unit, unit, StaffRole.UNIT) for unit in units]


async def create_demo_accounts(pool: asyncpg.Pool, policy: Policy, units: int = UNIT_ACCOUNTS) -> list[DemoAccount]:
    """Create the demo's accounts with generated passwords (an account already there gets a new password)."""
    accounts = Accounts(StaffStore(pool), policy)
    busiest = await busiest_units(pool, [s.value for s in OPEN_STATUSES], units)
    made = []
    for name, unit_id, role in roster(policy, busiest):
        try:
            _, password = await accounts.create(name, unit_id, role.value, None)
        except StaffExists:
            _, password = await accounts.reset_password(name)
        made.append(DemoAccount(name, role.value, unit_id, unit_name(policy, unit_id), password or ""))
    return made
