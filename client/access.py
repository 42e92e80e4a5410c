"""Who may read and act on which case: one rule for the staff's web pages and the units' API (/v1).

A unit (its account or its key) reads and acts on its own cases only, the ones it leads; to it another unit's
case is as absent as a missing one. An inspector with an area (核查区域: streets and towns) reads every case but
acts only on the cases whose territory (属地) is in its area; an inspector without one, the whole district.
Dispatchers, reviewers and auditors have no area. What a role may do at all is the decider's (the command table).
"""

from __future__ import annotations

from collections.abc import Sequence

from rectify.domain.policy import Policy, UnitKind
from rectify.domain.types import Role

#: The rule a refused action names (the API's 403 body, the web form's refusal).
OUTSIDE_AREA = "outside_area"


def scope_unit(role: str, unit_id: str) -> str | None:
    """The lead unit every case this caller reads is restricted to, or None for the whole district."""
    return unit_id if role == Role.UNIT else None


def may_read(role: str, unit_id: str, lead_unit: str | None) -> bool:
    """Whether the caller may see a case led by `lead_unit` at all."""
    scope = scope_unit(role, unit_id)
    return scope is None or lead_unit == scope


def outside_area(role: str, areas: Sequence[str], territory: str | None) -> bool:
    """Whether an inspector acting on a case of this territory (属地) would act outside its area (and must be
    refused; the web offers it no form there)."""
    return role == Role.INSPECTOR and bool(areas) and territory not in areas


def territories(policy: Policy) -> list[str]:
    """The streets and towns of the city: what an inspector's area is made of."""
    return [u for u, spec in policy.units.items() if spec.kind in (UnitKind.STREET, UnitKind.TOWN)]


def area_problem(policy: Policy, areas: Sequence[str], *, inspector: bool, holder: str) -> str | None:
    """What is wrong with an area given to an account or key (`holder`, e.g. "key" or "account"), or None: only an
    inspector has one, and it is made of the city's streets and towns."""
    if areas and not inspector:
        return f"area: only an inspector {holder} has an area"
    known = territories(policy)
    for area in areas:
        if area not in known:
            return f"area {area!r}: not a street or town of {policy.city} (one of {', '.join(known)})"
    return None
