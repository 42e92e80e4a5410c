"""Commands: what someone asks to happen to a case. `decide` turns one into events or a domain error.

Each command carries its own id (from `workflow.uuid4()` or the caller) and the acting unit and role.
Event ids are derived from the command id, so a retried command yields the same events.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from rectify.domain.types import Actor, CaseStatus, Channel, EvidenceRef, Frozen, Point, Routing

Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Note = Annotated[str, Field(max_length=2000)]


class CommandBase(Frozen):
    command_id: Annotated[str, Field(min_length=1, max_length=100)]
    case_id: Annotated[str, Field(min_length=1, max_length=100)]
    actor: Actor


class ReportCase(CommandBase):
    """A new report. The router's answer is computed at intake and travels with the command."""

    type: Literal["report"] = "report"
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    category: str
    #: Length is checked by `decide` against the policy, so the error names the rule.
    description: str
    location: Point
    address: Annotated[str, Field(max_length=500)] | None = None
    channel: Channel
    evidence: tuple[EvidenceRef, ...] = ()
    routing: Routing | None = None


class ClaimCase(CommandBase):
    type: Literal["claim"] = "claim"


class DisputeCase(CommandBase):
    type: Literal["dispute"] = "dispute"
    reason: Reason


class ReassignCase(CommandBase):
    type: Literal["reassign"] = "reassign"
    to_unit: str
    reason: Reason


class UpholdDispatch(CommandBase):
    type: Literal["uphold"] = "uphold"
    reason: Reason


class SubmitRectification(CommandBase):
    type: Literal["submit"] = "submit"
    evidence: Annotated[tuple[EvidenceRef, ...], Field(min_length=1)]
    note: Note = ""


class VerifyCase(CommandBase):
    type: Literal["verify"] = "verify"
    passed: bool
    note: Note = ""


class RejectCase(CommandBase):
    type: Literal["reject"] = "reject"
    reason: Reason


class WithdrawCase(CommandBase):
    type: Literal["withdraw"] = "withdraw"
    reason: Reason


class MergeCase(CommandBase):
    type: Literal["merge"] = "merge"
    into_case_id: Annotated[str, Field(min_length=1, max_length=100)]
    #: The target's status, looked up from the store by the workflow before deciding.
    target_status: CaseStatus | None = None


class ReopenCase(CommandBase):
    type: Literal["reopen"] = "reopen"
    reason: Reason


Command = Annotated[
    ReportCase
    | ClaimCase
    | DisputeCase
    | ReassignCase
    | UpholdDispatch
    | SubmitRectification
    | VerifyCase
    | RejectCase
    | WithdrawCase
    | MergeCase
    | ReopenCase,
    Field(discriminator="type"),
]

COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
