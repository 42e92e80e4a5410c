"""Which commands of the table a person may issue on a case now, asked of the decider itself.

The pages offer a form only for what the rules would take: each entry of the command table that the actor's
role appears in is tried with stand-in inputs (a reason, a small number of hours, a photo reference, another
unit, an open target case) on the case as it stands, and offered when `decide` produces events. No rule is
written here twice: a command the decider refuses for its status, its actor or a cap is not offered, and a
new rule in `decide` changes the offer with no change here. What the person then types is decided again,
in full, when it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from rectify.domain.command_table import COMMANDS, CommandSpec, InputKind, Stream
from rectify.domain.decider import decide
from rectify.domain.errors import DomainError
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState
from rectify.domain.types import Actor, CaseStatus, EvidenceRef

#: The smallest request a form may make: what the caps are tried with.
PROBE_HOURS = 0.5
_PROBE_PHOTO = EvidenceRef(sha256="0" * 64, size=1, media_type="image/jpeg")
#: The looked-up fields (`CommandSpec.filled`) as the most permissive answer the system could give.
_PROBE_FILLED: dict[str, Any] = {"target_status": CaseStatus.DISPATCHED}


def _probe_value(kind: InputKind, state: CaseState, policy: Policy, annotation: Any) -> Any:
    match kind:
        case InputKind.PROSE:
            return "…"
        case InputKind.UNIT:
            return next((u for u in policy.units if u != state.lead_unit), state.lead_unit)
        case InputKind.CASE:
            return f"{state.case_id}-other"
        case InputKind.HOURS:
            return PROBE_HOURS
        case InputKind.YES_NO:
            return True
        case InputKind.PHOTOS:
            return (_PROBE_PHOTO,)
        case InputKind.CHOICE:
            return next(iter(annotation))


def probe(spec: CommandSpec, state: CaseState, actor: Actor, policy: Policy) -> Any:
    """The command `spec` by `actor` on `state`, with stand-in inputs: what `offered` asks the decider about."""
    fields = spec.model.model_fields
    inputs = {i.name: _probe_value(i.kind, state, policy, fields[i.name].annotation) for i in spec.inputs}
    filled = {name: _PROBE_FILLED[name] for name in spec.filled}
    return spec.model(command_id="offer-probe", case_id=state.case_id, actor=actor, **inputs, **filled)


def offered(state: CaseState, actor: Actor, now: datetime, policy: Policy) -> tuple[CommandSpec, ...]:
    """The case commands `actor` may issue on `state` at `now`, in the table's order."""
    found: list[CommandSpec] = []
    for spec in COMMANDS:
        if spec.stream is not Stream.CASE or actor.role not in spec.roles:
            continue
        try:
            if decide(state, probe(spec, state, actor, policy), now, policy):
                found.append(spec)
        except (DomainError, ValidationError):
            continue
    return tuple(found)
