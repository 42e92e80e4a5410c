"""What one try to deliver a notice came to: delivered, or failed for a reason that a retry may or may not cure.

Senders never raise for a remote failure: a refused connection, a timeout, a 503, a robot's error code and an
SMTP server's 550 all come back as an `Attempt`, which the delivery records as it is (the auditor's evidence
that a unit was told, and when) and the retry rule reads (channels/retry.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

from rectify.domain.types import Frozen, UtcDateTime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    #: The endpoint could not take it now (timeout, refused connection, 5xx, 429, a robot's rate limit).
    RETRYABLE = "retryable"
    #: Trying again will not help (bad key or signature, 4xx, a robot's token gone, mailbox refused).
    PERMANENT = "permanent"


class Attempt(Frozen):
    channel_id: str
    notice_id: str
    outcome: Outcome
    #: The HTTP status, or the SMTP reply code; None when no answer came.
    status: int | None = None
    #: Why it failed; on delivery, what the endpoint still said (an SMTP queue id, a refused recipient) or "".
    reason: str = ""
    #: What the endpoint asked for before the next try (HTTP Retry-After), in seconds.
    retry_after_s: float | None = None
    started_at: UtcDateTime
    elapsed_ms: float

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED


class Stopwatch:
    """Times one attempt: the wall-clock start for the record, a monotonic clock for the duration."""

    def __init__(self, clock: Clock, channel_id: str, notice_id: str) -> None:
        self.started_at = clock()
        self._t0 = time.perf_counter()
        self.channel_id, self.notice_id = channel_id, notice_id

    def attempt(
        self, outcome: Outcome, *, status: int | None = None, reason: str = "", retry_after_s: float | None = None
    ) -> Attempt:
        return Attempt(
            channel_id=self.channel_id,
            notice_id=self.notice_id,
            outcome=outcome,
            status=status,
            reason=reason[:500],
            retry_after_s=retry_after_s,
            started_at=self.started_at,
            elapsed_ms=round((time.perf_counter() - self._t0) * 1000, 3),
        )
