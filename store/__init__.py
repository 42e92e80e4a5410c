"""The event store: append-only events with a hash chain per case, and read models beside them."""

from rectify.store.eventstore import (
    AppendResult,
    ChainProblem,
    ConcurrencyError,
    EventConflict,
    EventRecord,
    EventStore,
    ReadModelDiff,
)
from rectify.store.failures import UnstorableEvents
from rectify.store.migrate import MigrationError, migrate
from rectify.store.projections import CaseRow, case_row

__all__ = [
    "AppendResult",
    "CaseRow",
    "ChainProblem",
    "ConcurrencyError",
    "EventConflict",
    "EventRecord",
    "EventStore",
    "MigrationError",
    "ReadModelDiff",
    "UnstorableEvents",
    "case_row",
    "migrate",
]
