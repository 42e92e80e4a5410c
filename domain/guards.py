"""Who may issue a case command, and in which status: the refusals `decide` raises before it decides anything.

Each names the rule (wrong_status, not_authorised), the case and its status, so an operator reads what went wrong.
"""

from __future__ import annotations

from rectify.domain.commands import Command
from rectify.domain.errors import NotAuthorised, WrongStatus
from rectify.domain.state import CaseState
from rectify.domain.types import CaseStatus, Role


def require_status(state: CaseState, command: Command, allowed: frozenset[CaseStatus]) -> None:
    if state.status not in allowed:
        needed = " or ".join(sorted(allowed))
        raise WrongStatus(f"{command.type} needs the case to be {needed}", case_id=state.case_id, status=state.status)


def require_role(state: CaseState | None, command: Command, *roles: Role) -> None:
    actor = command.actor
    if actor.role not in roles:
        who = " or ".join(roles)
        raise NotAuthorised(
            f"{command.type} may be done only by a {who}; {actor.unit_id} acts as {actor.role}",
            case_id=command.case_id,
            status=state.status if state else None,
        )


def require_lead_unit(state: CaseState, command: Command) -> None:
    require_role(state, command, Role.UNIT)
    if command.actor.unit_id != state.lead_unit:
        raise NotAuthorised(
            f"only the lead unit {state.lead_unit} may {command.type}; {command.actor.unit_id} is not it",
            case_id=state.case_id,
            status=state.status,
        )
