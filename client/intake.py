"""Intake: a report opens a case, or joins the open case it repeats (the duplicate rule, domain/duplicates.py).

Every path files through here (the SDK, the CLI, Open311, the simulation), so every report meets the same rule.
A valid report is never refused for the target's sake: a target still opening makes the attach wait (its
workflow holds the command until the report is recorded), and a target that refuses it (closed, merged or
ended in the meantime) leaves the report to open a case of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from rectify.client.commands import Commands
from rectify.client.errors import CaseNotFound, CommandRejected, from_failure, invalid, rejected
from rectify.client.models import CaseRef
from rectify.client.temporal import update_with_start, why_not_opened
from rectify.domain import commands as c
from rectify.domain.decider import case_id_for, decide
from rectify.domain.duplicates import Duplicate, attachment, duplicate_of, search_area
from rectify.domain.errors import DomainError, InvalidCommand
from rectify.domain.inspection import InspectionPoint, route_failure
from rectify.domain.state import CaseState
from rectify.domain.types import Actor, Channel, EvidenceRef, Point
from rectify.store.duplicates import nearby_open_cases
from rectify.workflows import search
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.models import CaseWorkflowInput, workflow_id_for

log = structlog.get_logger("rectify.client")

#: A reporter's photo link, shown to the public as given: https, a host name, an optional port and path,
#: printable ASCII only (a link with other characters is percent-encoded). The same in every regex dialect.
MEDIA_URL = r"https://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[!-~]*)?"


def check_media_url(url: str) -> None:
    if not re.fullmatch(MEDIA_URL, url):
        raise InvalidCommand("media_url must be an https:// link to the photo, e.g. https://img.example.cn/a.jpg")


class Intake(Commands):
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
        at: datetime | None = None,
        point: InspectionPoint | None = None,
    ) -> CaseRef:
        """Open a case, or join the open case this report repeats (`CaseRef.duplicate`); the same idempotency
        key with the same report gives the same answer again. `at`: the moment of the report, for the
        duplicate rule's window (default now; the simulation passes its own clock). `point`: the inspection point
        a round found the problem on; the case carries its id and goes to the point's own units."""
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
            point=point,
        )
        await self._bind(f"report/{command.idempotency_key}", "report", command)
        # A report this key already opened is that case, never a duplicate of itself.
        if await self.store.get_case(command.case_id) is None:
            found = await self.duplicate_of(command.category, command.location, at or datetime.now(UTC))
            if found is not None and (joined := await self._attach(command, found)) is not None:
                return joined
        return await self._start(command)

    async def duplicate_of(self, category: str, location: Point, now: datetime) -> Duplicate | None:
        """The open case a report of `category` at `location` at `now` repeats, if any."""
        area = search_area(self.city.policy, category, location, now)
        candidates = await nearby_open_cases(self.store.pool, area)
        return duplicate_of(self.city.policy, category, location, now, candidates)

    async def _attach(self, report: c.ReportCase, found: Duplicate) -> CaseRef | None:
        attach = attachment(report, found, command_id=str(uuid.uuid5(uuid.NAMESPACE_URL, report.idempotency_key)))
        try:
            result = await self.execute(attach)
        except (CommandRejected, CaseNotFound) as refused:
            # Nothing was written to the target; the report goes on as a case of its own.
            log.info("intake.duplicate_refused", case_id=found.case_id, reason=str(refused)[:200])
            return None
        state = result.state
        return CaseRef(
            case_id=state.case_id,
            workflow_id=workflow_id_for(state.case_id),
            status=state.status,
            lead_unit=state.lead_unit,
            due_at=state.due_at,
            duplicate=True,
            distance_m=found.distance_m,
        )

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
        point: InspectionPoint | None = None,
    ) -> c.ReportCase:
        """The report as a command, routed and checked by the rules: `CommandRejected` naming the rule (or
        the field) before anything starts."""
        try:
            if media_url is not None:
                check_media_url(media_url)
            routing = self.city.router.route(category, location)
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
                routing=route_failure(routing, point) if point else routing,
                media_url=media_url,
                point_id=point.point_id if point else None,
            )
            decide(None, command, datetime.now(UTC), self.city.policy)  # refuse bad input before anything starts
        except DomainError as error:
            raise rejected(error) from None
        except ValidationError as error:
            raise invalid(error, case_id_for(idempotency_key)) from None
        return command

    async def _start(self, command: c.ReportCase) -> CaseRef:
        """Start the case's workflow and wait for its report to be recorded, in one call (update-with-start); a
        workflow this report already started is answered by it, one that ended by the store."""
        case_id, category = command.case_id, command.category
        workflow_id = workflow_id_for(case_id)

        def start() -> WithStartWorkflowOperation:
            return WithStartWorkflowOperation(
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

        try:
            state: CaseState = await update_with_start(
                self.temporal, CaseWorkflow.opened, start, id=f"opened-{uuid.uuid4()}"
            )
        except WorkflowAlreadyStartedError:  # it ran once and has ended
            row = await self.store.get_case(case_id)
            if row is None:  # that report ran once and was refused: the same answer again
                raise await why_not_opened(self.temporal.get_workflow_handle(workflow_id), case_id) from None
            return CaseRef(
                case_id=case_id, workflow_id=workflow_id, status=row.status, lead_unit=row.lead_unit, due_at=row.due_at
            )
        except WorkflowUpdateFailedError as error:
            raise from_failure(error, case_id) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            # it ended before the update reached it
            raise await why_not_opened(self.temporal.get_workflow_handle(workflow_id), case_id) from None
        return CaseRef(
            case_id=case_id,
            workflow_id=workflow_id,
            status=state.status,
            lead_unit=state.lead_unit,
            due_at=state.due_at,
        )
