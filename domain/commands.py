"""Commands: what someone asks to happen to a case. `decide` turns one into events or a domain error.

Each command carries its own id (from `workflow.uuid4()` or the caller) and the acting unit and role.
Event ids are derived from the command id, so a retried command yields the same events. Free text is
marked `Text(kind)`: `decide` refuses what PostgreSQL cannot store and what is longer than the policy allows
(domain/text.py), so the refusal names the rule instead of failing at the store.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from rectify.domain.text import Text, TextKind
from rectify.domain.types import Actor, CaseStatus, Channel, EvidenceRef, Frozen, Point, Routing

Reason = Annotated[str, Text(TextKind.REASON, required=True)]
Note = Annotated[str, Text(TextKind.NOTE)]
Description = Annotated[str, Text(TextKind.DESCRIPTION)]


class CommandBase(Frozen):
    command_id: Annotated[str, Field(min_length=1, max_length=100)]
    case_id: Annotated[str, Field(min_length=1, max_length=100)]
    actor: Actor


class ReportCase(CommandBase):
    """A new report. The router's answer is computed at intake and travels with the command."""

    type: Literal["report"] = "report"
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    category: str
    description: Description
    location: Point
    address: Annotated[str | None, Text(TextKind.ADDRESS)] = None
    channel: Channel
    evidence: tuple[EvidenceRef, ...] = ()
    routing: Routing | None = None
    media_url: Annotated[str | None, Text(TextKind.URL)] = None
    #: The inspection point a failed checklist item was found on, when the report comes from a round.
    point_id: Annotated[str | None, Field(max_length=100)] = None


class AttachDuplicate(CommandBase):
    """A new report found to repeat this open case (same category, within its radius and window)."""

    type: Literal["attach_duplicate"] = "attach_duplicate"
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    description: Description
    location: Point
    channel: Channel
    distance_m: Annotated[float, Field(ge=0)]
    #: The inspection point whose failed item the repeating report came from: the case then answers for it too.
    point_id: Annotated[str | None, Field(max_length=100)] = None


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
    #: The inspector's own photos of the site (核查照片), optional: what a failed check saw, or the fix confirmed.
    evidence: Annotated[tuple[EvidenceRef, ...], Field(max_length=20)] = ()


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


class AbsorbCase(CommandBase):
    """Sent by the workflow of a case just merged into this one, so both cases record the merge."""

    type: Literal["absorb"] = "absorb"
    merged_case_id: Annotated[str, Field(min_length=1, max_length=100)]


class ReopenCase(CommandBase):
    type: Literal["reopen"] = "reopen"
    reason: Reason


class Tick(CommandBase):
    """The clock: issued by the system when the next due moment passes (never by a person)."""

    type: Literal["tick"] = "tick"


class RequestExtension(CommandBase):
    """延期申请: the lead unit asks for more time, in the category's own units (working or natural hours)."""

    type: Literal["request_extension"] = "request_extension"
    hours: Annotated[float, Field(gt=0, le=24 * 90)]
    reason: Reason


class DecideExtension(CommandBase):
    type: Literal["decide_extension"] = "decide_extension"
    granted: bool
    reason: Reason


class RequestSuspension(CommandBase):
    """挂起申请: e.g. the site is sealed by another authority, or the weather stops the work."""

    type: Literal["request_suspension"] = "request_suspension"
    reason: Reason


class DecideSuspension(CommandBase):
    type: Literal["decide_suspension"] = "decide_suspension"
    approved: bool
    reason: Reason


class ResumeCase(CommandBase):
    type: Literal["resume"] = "resume"
    reason: Reason


class RecordFeedback(CommandBase):
    """回访: the reporter's answer after closure, given by the reporter (the follow link) or noted by the office."""

    type: Literal["record_feedback"] = "record_feedback"
    satisfied: bool
    note: Note = ""


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
    | AbsorbCase
    | AttachDuplicate
    | ReopenCase
    | Tick
    | RequestExtension
    | DecideExtension
    | RequestSuspension
    | DecideSuspension
    | ResumeCase
    | RecordFeedback,
    Field(discriminator="type"),
]

COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
