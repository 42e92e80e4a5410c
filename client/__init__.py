"""The typed client SDK: report a case and issue commands over Temporal; read the record from the store.

One method per command of the command table (domain/command_table.py), built from it with the command
model's fields as parameters: `await client.claim(case_id, actor)`, `await client.request_extension(case_id,
actor, hours=7, reason="…")`; or by name, `await client.run("claim", case_id, actor)`. Every failure is a typed
exception: `CaseNotFound`, `CommandRejected` (with the rule), or `ServerUnavailable`; never a dict or None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from rectify.city import City
from rectify.client.errors import CaseNotFound, CommandRejected, RectifyError, ServerUnavailable
from rectify.client.intake import MEDIA_URL, check_media_url
from rectify.client.models import CaseRef, CaseView
from rectify.client.recover import Progress, Recovery
from rectify.client.rounds import Rounds
from rectify.client.temporal import UPDATE_PATIENCE, connect_temporal, register_search_attributes
from rectify.config import Settings
from rectify.domain.accountability import ProceedingState, fold_proceeding
from rectify.domain.events import PROCEEDING_PREFIX, Event, ProceedingEvent
from rectify.store import CaseRow, EventStore
from rectify.store.projections import ProceedingRow
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.models import workflow_id_for

__all__ = [
    "MEDIA_URL",
    "UPDATE_PATIENCE",
    "CaseNotFound",
    "CaseRef",
    "CaseView",
    "CommandRejected",
    "Recovery",
    "RectifyClient",
    "RectifyError",
    "ServerUnavailable",
    "check_media_url",
    "connect_temporal",
    "register_search_attributes",
]


class RectifyClient(Rounds):
    """Report cases, issue commands, and read cases, proceedings and their history."""

    @classmethod
    async def connect(cls, settings: Settings, city: City, *, service: str = "rectify-client") -> RectifyClient:
        """`service` names this process in traces (when RECTIFY_OTLP_ENDPOINT turns them on)."""
        from rectify.telemetry import tracing_interceptors

        temporal = await connect_temporal(settings, interceptors=tracing_interceptors(settings, service))
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

    async def recover(
        self, *, restart_ended: bool = False, progress: Progress | None = None, now: datetime | None = None
    ) -> Recovery:
        """Start the workflow of every case, proceeding and round the store holds open but Temporal does not run,
        and the round Schedules (client/recover.py): after a cluster lost its persistence, a move to another
        cluster, or the demo. `now`: the moment it judges from (the clock by default)."""
        from rectify.client.recover import recover

        return await recover(self, restart_ended=restart_ended, progress=progress, now=now)

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
        events = await self.store.load_case(case_id)
        if not events:
            raise CaseNotFound(case_id)
        return events

    async def proceedings(self, **filters: Any) -> list[ProceedingRow]:
        return await self.store.list_proceedings(**filters)

    async def proceeding(self, proceeding_id: str) -> tuple[ProceedingState, list[ProceedingEvent]]:
        if not proceeding_id.startswith(PROCEEDING_PREFIX):
            raise CaseNotFound(proceeding_id)
        events = await self.store.load_proceeding(proceeding_id)
        state = fold_proceeding(events)
        if state is None:
            raise CaseNotFound(proceeding_id)
        return state, events
