"""The append activities: events into the event store. Idempotent under retry: the store recognises event ids it has.

A refusal of the data itself (`UnstorableEvents`: a character PostgreSQL cannot store, a value too long) is
recorded in `append_failures` for `rectify doctor`, logged, and raised as non-retryable: the workflow refuses
the command with the rule `unstorable` and the case goes on taking commands.
"""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rectify.activities.interface import (
    APPEND_EVENTS,
    APPEND_PROCEEDING_EVENTS,
    UNSTORABLE,
    AppendEvents,
    AppendOutcome,
    AppendProceedingEvents,
    ProceedingAppended,
)
from rectify.store import ConcurrencyError, EventConflict, EventStore, UnstorableEvents
from rectify.store.failures import record_failure

log = structlog.get_logger("rectify.activities")


class AppendActivities:
    """Holds the injected dependencies (the store's pool) for the case workflow's activities."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=APPEND_EVENTS)
    async def append_events(self, request: AppendEvents) -> AppendOutcome:
        """Append, or answer with what the store holds after the expected version (workflows/adopt.py)."""
        try:
            result, stored = await self.store.append_or_stored(
                request.case_id, request.expected_version, request.events, request.state_after
            )
        except (ConcurrencyError, EventConflict) as error:
            raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from error
        except UnstorableEvents as error:
            raise await self._refused(error, request.case_id, request.events) from error
        # The notices are in the units' inboxes already: rectify_append files them (migration 0015).
        return AppendOutcome(last_position=result.last_position, duplicate=result.duplicate, stored=stored)

    @activity.defn(name=APPEND_PROCEEDING_EVENTS)
    async def append_proceeding_events(self, request: AppendProceedingEvents) -> ProceedingAppended:
        """The same idempotent append, for an accountability proceeding's own stream (its notices filed too)."""
        stream_id, events = request.stream_id, request.events
        try:
            result = await self.store.append(stream_id, request.expected_version, events, request.state_after)
        except (ConcurrencyError, EventConflict) as error:
            raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from error
        except UnstorableEvents as error:
            raise await self._refused(error, stream_id, events) from error
        return ProceedingAppended(last_position=result.last_position, duplicate=result.duplicate)

    async def _refused(self, error: UnstorableEvents, stream_id: str, events: list) -> ApplicationError:
        """Record and log a refusal of the data, and give up on it at once: no retry will store it."""
        command_id = events[0].causation_id if events else None
        name = activity.info().activity_type
        log.error("store.append_refused", stream_id=stream_id, activity=name, command_id=command_id, error=error.reason)
        await record_failure(self.store.pool, stream_id, name, command_id, error.reason)
        return ApplicationError(
            str(error), {"stream_id": stream_id, "reason": error.reason}, type=UNSTORABLE, non_retryable=True
        )
