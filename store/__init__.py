"""The event store: append-only events with a hash chain per case, and read models beside them.

Every SQL statement of Rectify is in this package: eventstore.py and append.py (the record), scan.py (the
audit's and the rebuild's pass), read_models.py, keys.py, evidence.py, contacts.py, idempotency.py,
staff.py, checkpoints.py, bulletins.py, audit_queries.py, failures.py, admin.py, office_queue.py (the dispatch
office's queue, map and wall), event_feed.py (the LISTEN for live pages), migrate.py, notices.py (the
notice relay's deliveries, attempts, dead letters and circuits), rate_limits.py (the API's shared buckets),
ops.py (readiness and the /metrics gauges), streams.py (many streams' events in one query), and locks.py
(every advisory-lock number). It imports nothing of the project but domain/.
"""

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
