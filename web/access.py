"""Who may see which case and its photos, and act on it: the rule the units' API keeps too (client/access.py),
for signed-in staff.

A unit account sees its own unit's cases (it leads them); dispatchers, inspectors, leaders and auditors
see every case; an inspector with an area acts only on the cases in it. Photos go to the people who work or
check cases (the case's unit, dispatchers, inspectors, auditors), as the API serves them to those roles' keys.
"""

from __future__ import annotations

from rectify.client import access
from rectify.store.projections import CaseRow
from rectify.store.staff import StaffUser
from rectify.web.accounts import StaffRole

EVIDENCE_READERS = frozenset({StaffRole.UNIT, StaffRole.DISPATCHER, StaffRole.INSPECTOR, StaffRole.AUDITOR})
#: Who watches the whole district from the dispatch office's pages (指挥中心, 大屏).
DISTRICT_WATCHERS = frozenset({StaffRole.DISPATCHER, StaffRole.LEADER, StaffRole.AUDITOR})


def scope_unit(user: StaffUser) -> str | None:
    """The lead unit every list query of this person is restricted to, or None for the whole district."""
    return access.scope_unit(user.role, user.unit_id)


def may_read(user: StaffUser, row: CaseRow) -> bool:
    return access.may_read(user.role, user.unit_id, row.lead_unit)


def outside_area(user: StaffUser, row: CaseRow) -> bool:
    """Whether this person, an inspector, would act on a case outside its area."""
    return access.outside_area(user.role, user.areas, row.territorial_unit)


def may_see_evidence(user: StaffUser, row: CaseRow) -> bool:
    return may_read(user, row) and StaffRole(user.role) in EVIDENCE_READERS


def may_watch_district(user: StaffUser) -> bool:
    return StaffRole(user.role) in DISTRICT_WATCHERS
