"""The typed client SDK: report a case and issue commands over Temporal; read the record from the store.

Every failure is a typed exception: `CaseNotFound`, `CommandRejected` (with the rule), or
`ServerUnavailable`; never a dict or None.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import ValidationError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from rectify.city import City
from rectify.config import Settings
from rectify.domain import commands as c
from rectify.domain.accountability import (
    DecideProceeding,
    Outcome,
    ProceedingCommand,
    ProceedingState,
    SubmitExplanation,
    fold_proceeding,
)
from rectify.domain.decider import case_id_for, decide
from rectify.domain.errors import DomainError, InvalidCommand
from rectify.domain.events import PROCEEDING_PREFIX, Event
from rectify.domain.state import CaseState
from rectify.domain.text import check_text
from rectify.domain.types import Actor, Channel, EvidenceRef, Frozen, Point
from rectify.store import CaseRow, EventStore
from rectify.store.idempotency import IdempotencyStore, fingerprint
from rectify.store.projections import ProceedingRow
from rectify.workflows import search
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.models import CaseWorkflowInput, CommandResult, ProceedingResult, workflow_id_for


class RectifyError(Exception):
    """Base of the SDK's errors."""


class CaseNotFound(RectifyError):
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id}")


class CommandRejected(RectifyError):
    """The rules refused the command; nothing was written. `rule` names the rule."""

    def __init__(self, message: str, *, rule: str, case_id: str | None = None, status: str | None = None) -> None:
        self.rule, self.case_id, self.status = rule, case_id, status
        super().__init__(message)


class ServerUnavailable(RectifyError):
    """Temporal or PostgreSQL could not be reached."""


class CaseRef(Frozen):
    case_id: str
    workflow_id: str
    status: str
    lead_unit: str | None
    due_at: datetime | None


class CaseView(Frozen):
    """A case as it stands now: the live workflow's state, or the read model once the workflow has ended."""

    state: CaseState | None
    row: CaseRow | None
    live: bool

    @property
    def status(self) -> str:
        return self.state.status if self.state else self.row.status


def _rejected(error: DomainError) -> CommandRejected:
    return CommandRejected(str(error), rule=error.rule, case_id=error.case_id, status=error.status)


def _invalid(error: ValidationError, case_id: str | None) -> CommandRejected:
    """A field the command's model refuses, named, without echoing the input."""
    first = error.errors(include_input=False, include_url=False)[0]
    field = ".".join(str(p) for p in first["loc"]) or "command"
    rule = "invalid_text" if first["type"] == "string_unicode" else "invalid_command"
    return CommandRejected(f"{field}: {first['msg']}", rule=rule, case_id=case_id)


#: A reporter's photo link, shown to the public as given: https, a host name, an optional port and path,
#: printable ASCII only (a link with other characters is percent-encoded). The same in every regex dialect.
MEDIA_URL = r"https://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[!-~]*)?"


def check_media_url(url: str) -> None:
    if not re.fullmatch(MEDIA_URL, url):
        raise InvalidCommand("media_url must be an https:// link to the photo, e.g. https://img.example.cn/a.jpg")


def _from_failure(error: BaseException, case_id: str) -> CommandRejected:
    cause = error
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError) and cause.type == "CommandRejected":
        details: dict[str, Any] = cause.details[0] if cause.details else {}
        return CommandRejected(
            cause.message, rule=details.get("rule", "domain"), case_id=case_id, status=details.get("status")
        )
    # A payload the worker's model refused (a client that skipped these checks) is the caller's mistake too.
    chain = []
    while isinstance(cause, ApplicationError):
        chain.append(cause)
        cause = cause.__cause__
    refused = [c for c in chain if c.type == "ValidationError" or "Failed decoding arguments" in c.message]
    if refused:
        return CommandRejected(chain[-1].message, rule="invalid_command", case_id=case_id)
    message = chain[0].message if chain else str(error)
    return CommandRejected(message, rule="failed", case_id=case_id)


#: RPC answers meaning "not now" for an update: the server's limit of in-flight updates per workflow, an update
#: aborted because its workflow task timed out (its worker died), a workflow task not ready. Sent again with the
#: same update id, which the server deduplicates, for at most UPDATE_PATIENCE seconds.
_NOT_NOW = frozenset({RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.FAILED_PRECONDITION})
UPDATE_PATIENCE = 120.0


def _not_now(error: RPCError) -> bool:
    """The server's "not now" for an update. UNAVAILABLE counts only when the server itself says so about the
    update ("update was aborted"): a server that cannot be reached at all is not retried here for minutes."""
    if error.status is RPCStatusCode.UNAVAILABLE:
        return "update" in error.message.lower()
    return error.status in _NOT_NOW


async def _update(handle: WorkflowHandle, update: Any, *args: Any, id: str, result_type: type | None = None) -> Any:
    deadline, delay = time.monotonic() + UPDATE_PATIENCE, 0.2
    while True:
        try:
            return await handle.execute_update(update, args=args, id=id, result_type=result_type)
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our own caller gave up: not the server's "not now"
            not_now = isinstance(error, WorkflowUpdateRPCTimeoutOrCancelledError) or _not_now(error)
            if not not_now or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def _why_not_opened(handle: WorkflowHandle, case_id: str) -> CommandRejected:
    """A case workflow that ended without recording its report: its failure, as the rejection it carries."""
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError as failure:
        return _from_failure(failure, case_id)
    return CommandRejected(f"case {case_id}: the report was not recorded", rule="failed", case_id=case_id)


async def connect_temporal(settings: Settings, *, patience: float = 0.0) -> Client:
    """A client of the configured Temporal. `patience`: seconds to keep trying, for a server this process
    has just started: its port opens before its frontend answers, the more so on a busy machine."""
    if not settings.temporal_address:
        raise ServerUnavailable("no Temporal address: set RECTIFY_TEMPORAL_ADDRESS or start `rectify up`")
    deadline = time.monotonic() + patience
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.namespace,
                data_converter=pydantic_data_converter,
                tls=settings.temporal_tls,
            )
        except RuntimeError as error:  # the core bridge reports connection failures as RuntimeError
            if time.monotonic() >= deadline:
                raise ServerUnavailable(
                    f"Temporal at {settings.temporal_address} could not be reached: {error}"
                ) from error
            await asyncio.sleep(0.5)


async def register_search_attributes(client: Client) -> None:
    """Register the case attributes on the namespace; upserting an unregistered one would hang workflows."""
    # The SDK's indexed-value enum shares its numbers with the API's IndexedValueType.
    wanted = {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in search.ALL_KEYS}
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted)
        )
    except RPCError as error:
        if error.status not in (RPCStatusCode.ALREADY_EXISTS, RPCStatusCode.UNIMPLEMENTED):
            raise


class RectifyClient:
    """Report cases, issue commands, and read cases and their history."""

    def __init__(
        self,
        temporal: Client,
        store: EventStore,
        city: City,
        task_queue: str = "rectify-cases",
        *,
        continue_as_new_after: int | None = None,
    ) -> None:
        self.temporal, self.store, self.city, self.task_queue = temporal, store, city, task_queue
        #: Cap on a case run's history length before it continues as new (None: when Temporal suggests).
        self.continue_as_new_after = continue_as_new_after
        self.idempotency = IdempotencyStore(store.pool)

    @classmethod
    async def connect(cls, settings: Settings, city: City) -> RectifyClient:
        temporal = await connect_temporal(settings)
        if not settings.database_url:
            raise ServerUnavailable("no database: set RECTIFY_DATABASE_URL or start `rectify up`")
        try:
            store = await EventStore.connect(settings.database_url)
        except (OSError, Exception) as error:
            if isinstance(error, OSError) or "connect" in type(error).__name__.lower():
                raise ServerUnavailable(f"PostgreSQL could not be reached: {error}") from error
            raise
        return cls(temporal, store, city, settings.task_queue)

    async def close(self) -> None:
        await self.store.close()

    # -- intake ---------------------------------------------------------------------------------
    async def report(
        self,
        *,
        idempotency_key: str,
        category: str,
        description: str,
        location: Point,
        channel: Channel,
        actor: Actor,
        address: str | None = None,
        evidence: Sequence[EvidenceRef] = (),
        media_url: str | None = None,
    ) -> CaseRef:
        """Open a case (or return the one this idempotency key already opened with the same report)."""
        command = self.prepare_report(
            idempotency_key=idempotency_key,
            category=category,
            description=description,
            location=location,
            channel=channel,
            actor=actor,
            address=address,
            evidence=evidence,
            media_url=media_url,
        )
        return await self.open_report(command)

    def prepare_report(
        self,
        *,
        idempotency_key: str,
        category: str,
        description: str,
        location: Point,
        channel: Channel,
        actor: Actor,
        address: str | None = None,
        evidence: Sequence[EvidenceRef] = (),
        media_url: str | None = None,
    ) -> c.ReportCase:
        """The report as a command, routed and checked by the rules: `CommandRejected` naming the rule (or
        the field) before anything starts."""
        try:
            if media_url is not None:
                check_media_url(media_url)
            command = c.ReportCase(
                command_id=str(uuid.uuid4()),
                case_id=case_id_for(idempotency_key),
                actor=actor,
                idempotency_key=idempotency_key,
                category=category,
                description=description,
                location=location,
                address=address,
                channel=channel,
                evidence=tuple(evidence),
                routing=self.city.router.route(category, location),
                media_url=media_url,
            )
            decide(None, command, datetime.now(UTC), self.city.policy)  # refuse bad input before anything starts
        except DomainError as error:
            raise _rejected(error) from None
        except ValidationError as error:
            raise _invalid(error, case_id_for(idempotency_key)) from None
        return command

    async def open_report(self, command: c.ReportCase) -> CaseRef:
        """Start the case workflow for a prepared report; the same key with another report is refused."""
        await self._bind(f"report/{command.idempotency_key}", "report", command)
        case_id, category = command.case_id, command.category
        workflow_id = workflow_id_for(case_id)
        try:
            handle = await self.temporal.start_workflow(
                CaseWorkflow.run,
                CaseWorkflowInput(
                    policy=self.city.policy, report=command, continue_as_new_after=self.continue_as_new_after
                ),
                id=workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(search.STATUS, "reported"), SearchAttributePair(search.CATEGORY, category)]
                ),
            )
        except WorkflowAlreadyStartedError:
            row = await self.store.get_case(case_id)
            if row is None:  # that report ran once and was refused: the same answer again
                raise await _why_not_opened(self.temporal.get_workflow_handle(workflow_id), case_id) from None
            return CaseRef(
                case_id=case_id, workflow_id=workflow_id, status=row.status, lead_unit=row.lead_unit, due_at=row.due_at
            )
        try:
            state: CaseState = await _update(handle, CaseWorkflow.opened, id=f"opened-{uuid.uuid4()}")
        except WorkflowUpdateFailedError as error:
            raise _from_failure(error, case_id) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise await _why_not_opened(handle, case_id) from None  # it ended before the update reached it
        return CaseRef(
            case_id=case_id,
            workflow_id=workflow_id,
            status=state.status,
            lead_unit=state.lead_unit,
            due_at=state.due_at,
        )

    async def _bind(self, key: str, operation: str, command: Any) -> None:
        """The SDK's idempotency rule, the HTTP API's too: a key (a report's idempotency key, a command's id)
        names one request. Sent again with the same content it is answered as before; with other content it
        is refused, never run. Fields the SDK derives itself (ids, routing, looked-up status) do not count."""
        content = command.model_dump(mode="json", exclude={"command_id", "routing", "target_status", "distance_m"})
        try:
            bound_to = await self.idempotency.bind("sdk", key, operation, fingerprint(content))
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as error:
            raise ServerUnavailable(f"PostgreSQL could not be reached to check {key}: {error}") from error
        if bound_to is not None:
            raise CommandRejected(
                f"{key} was already used for another {bound_to} request with different content; "
                "a retry must repeat the request exactly, a new request needs a new key",
                rule="idempotency_key_reused",
                case_id=command.case_id,
            )

    # -- commands -------------------------------------------------------------------------------
    def _check_text(self, command: Any) -> None:
        """The decider's own text rule, applied before sending: what cannot be stored is never sent at all."""
        try:
            check_text(command, self.city.policy.text_limits(), case_id=command.case_id)
        except DomainError as error:
            raise _rejected(error) from None

    async def execute(self, command: c.Command) -> CommandResult:
        """Send a command made by the caller, as an Update whose id is the command id: a retry with the same id
        gets the first answer; the same id with another command is refused (`idempotency_key_reused`)."""
        self._check_text(command)
        await self._bind(f"{command.case_id}/{command.command_id}", command.type, command)
        return await self._update_case(command)

    async def _send(self, command: c.Command) -> CommandResult:
        """The SDK's own methods come here directly: their command ids are new uuids, so there is nothing to bind."""
        self._check_text(command)
        return await self._update_case(command)

    async def _update_case(self, command: c.Command) -> CommandResult:
        handle: WorkflowHandle = self.temporal.get_workflow_handle(workflow_id_for(command.case_id))
        try:
            update = CaseWorkflow.command
            return await _update(handle, update, command, id=command.command_id, result_type=CommandResult)
        except WorkflowUpdateFailedError as error:
            raise _from_failure(error, command.case_id) from None
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                row = await self.store.get_case(command.case_id)
                if row is None:
                    raise CaseNotFound(command.case_id) from None
                raise CommandRejected(
                    f"case {command.case_id} (status {row.status}) has ended; it takes no more commands",
                    rule="case_ended",
                    case_id=command.case_id,
                    status=row.status,
                ) from None
            raise

    @staticmethod
    def _command(kind: type[Any], case_id: str, actor: Actor, **fields: Any) -> Any:
        """A command with a fresh id; fields the model refuses are a rejection, like any other refused command."""
        try:
            return kind(command_id=str(uuid.uuid4()), case_id=case_id, actor=actor, **fields)
        except ValidationError as error:
            raise _invalid(error, case_id) from None

    async def claim(self, case_id: str, actor: Actor) -> CommandResult:
        return await self._send(self._command(c.ClaimCase, case_id, actor))

    async def dispute(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.DisputeCase, case_id, actor, reason=reason))

    async def reassign(self, case_id: str, actor: Actor, to_unit: str, reason: str) -> CommandResult:
        return await self._send(self._command(c.ReassignCase, case_id, actor, to_unit=to_unit, reason=reason))

    async def uphold(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.UpholdDispatch, case_id, actor, reason=reason))

    async def submit(
        self, case_id: str, actor: Actor, evidence: Sequence[EvidenceRef], note: str = ""
    ) -> CommandResult:
        return await self._send(
            self._command(c.SubmitRectification, case_id, actor, evidence=tuple(evidence), note=note)
        )

    async def verify(self, case_id: str, actor: Actor, passed: bool, note: str = "") -> CommandResult:
        return await self._send(self._command(c.VerifyCase, case_id, actor, passed=passed, note=note))

    async def reject(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.RejectCase, case_id, actor, reason=reason))

    async def withdraw(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.WithdrawCase, case_id, actor, reason=reason))

    async def merge(self, case_id: str, actor: Actor, into_case_id: str) -> CommandResult:
        """Merge a duplicate into another case; the target's status is looked up here, not trusted from the caller."""
        command = self._command(c.MergeCase, case_id, actor, into_case_id=into_case_id)
        self._check_text(command)  # before the id reaches the database
        target = await self.store.get_case(into_case_id)
        return await self._update_case(command.model_copy(update={"target_status": target.status if target else None}))

    async def reopen(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.ReopenCase, case_id, actor, reason=reason))

    async def request_extension(self, case_id: str, actor: Actor, hours: float, reason: str) -> CommandResult:
        return await self._send(self._command(c.RequestExtension, case_id, actor, hours=hours, reason=reason))

    async def decide_extension(self, case_id: str, actor: Actor, granted: bool, reason: str) -> CommandResult:
        return await self._send(self._command(c.DecideExtension, case_id, actor, granted=granted, reason=reason))

    async def request_suspension(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.RequestSuspension, case_id, actor, reason=reason))

    async def decide_suspension(self, case_id: str, actor: Actor, approved: bool, reason: str) -> CommandResult:
        return await self._send(self._command(c.DecideSuspension, case_id, actor, approved=approved, reason=reason))

    async def resume(self, case_id: str, actor: Actor, reason: str) -> CommandResult:
        return await self._send(self._command(c.ResumeCase, case_id, actor, reason=reason))

    async def record_feedback(self, case_id: str, actor: Actor, satisfied: bool, note: str = "") -> CommandResult:
        return await self._send(self._command(c.RecordFeedback, case_id, actor, satisfied=satisfied, note=note))

    # -- accountability (问责) -------------------------------------------------------------------------
    async def execute_proceeding(self, command: ProceedingCommand) -> ProceedingResult:
        self._check_text(command)
        handle: WorkflowHandle = self.temporal.get_workflow_handle(command.case_id)
        try:
            return await _update(handle, "command", command, id=command.command_id, result_type=ProceedingResult)
        except WorkflowUpdateFailedError as error:
            raise _from_failure(error, command.case_id) from None
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                rows = [p for p in await self.store.list_proceedings() if p.proceeding_id == command.case_id]
                if not rows:
                    raise CaseNotFound(command.case_id) from None
                status = rows[0].status
                message = f"proceeding {command.case_id} is {status}; it takes no more steps"
                raise CommandRejected(message, rule="case_ended", case_id=command.case_id, status=status) from None
            raise

    async def explain(self, proceeding_id: str, actor: Actor, text: str) -> ProceedingResult:
        """说明: the unit's written explanation, within the policy's working hours."""
        return await self.execute_proceeding(self._command(SubmitExplanation, proceeding_id, actor, text=text))

    async def decide_accountability(
        self, proceeding_id: str, actor: Actor, outcome: Outcome, reason: str
    ) -> ProceedingResult:
        """A reviewer's decision: no fault, 约谈, 通报批评 or 移交纪检; it closes the proceeding."""
        return await self.execute_proceeding(
            self._command(DecideProceeding, proceeding_id, actor, outcome=outcome, reason=reason)
        )

    async def proceedings(self, **filters: Any) -> list[ProceedingRow]:
        return await self.store.list_proceedings(**filters)

    async def proceeding(self, proceeding_id: str) -> tuple[ProceedingState, list]:
        events = await self.store.load(proceeding_id)
        if not events or not proceeding_id.startswith(PROCEEDING_PREFIX):
            raise CaseNotFound(proceeding_id)
        return fold_proceeding(events), events

    # -- reads ----------------------------------------------------------------------------------
    async def get(self, case_id: str) -> CaseView:
        row = await self.store.get_case(case_id)
        handle = self.temporal.get_workflow_handle(workflow_id_for(case_id))
        try:
            state = await handle.query(CaseWorkflow.state)
            live = True
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            state, live = None, False
        except Exception:  # a completed workflow may no longer answer queries (worker gone, history archived)
            state, live = None, False
        if state is None and row is None:
            raise CaseNotFound(case_id)
        return CaseView(state=state, row=row, live=live)

    async def list(self, **filters: Any) -> list[CaseRow]:
        return await self.store.list_cases(**filters)

    async def history(self, case_id: str) -> list[Event]:
        events = await self.store.load(case_id)
        if not events:
            raise CaseNotFound(case_id)
        return events

    async def count_in_temporal(self, key: SearchAttributeKey, value: Any) -> int:
        """How many case workflows Temporal's visibility lists under a search attribute value."""
        literal = f"'{value}'" if isinstance(value, str) else str(value)
        result = await self.temporal.count_workflows(f"{key.name} = {literal}")
        return result.count
