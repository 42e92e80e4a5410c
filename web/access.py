"""Who may see which case and its photos: the same rule as the units' API, for signed-in staff.

A unit account sees its own unit's cases (it leads them); dispatchers, inspectors, leaders and auditors
see every case. Photos go to the people who work or check cases (the case's unit, dispatchers,
inspectors, auditors), as the API serves them to those roles' keys.
"""

from __future__ import annotations

from rectify.store.projections import CaseRow
from rectify.store.staff import StaffUser
from rectify.web.accounts import StaffRole

EVIDENCE_READERS = frozenset({StaffRole.UNIT, StaffRole.DISPATCHER, StaffRole.INSPECTOR, StaffRole.AUDITOR})
#: Who watches the whole district from the dispatch office's pages (指挥中心, 大屏).
DISTRICT_WATCHERS = frozenset({StaffRole.DISPATCHER, StaffRole.LEADER, StaffRole.AUDITOR})


def scope_unit(user: StaffUser) -> str | None:
    """The lead unit every list query of this person is restricted to, or None for the whole district."""
    return user.unit_id if user.role == StaffRole.UNIT else None


def may_read(user: StaffUser, row: CaseRow) -> bool:
    scope = scope_unit(user)
    return scope is None or row.lead_unit == scope


def may_see_evidence(user: StaffUser, row: CaseRow) -> bool:
    return may_read(user, row) and StaffRole(user.role) in EVIDENCE_READERS


def may_watch_district(user: StaffUser) -> bool:
    return StaffRole(user.role) in DISTRICT_WATCHERS
