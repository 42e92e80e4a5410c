"""When to try a notice again, and when to stop and put it in the dead letters. Pure: time and chance come in.

The wait after the n-th failure is `first_delay × factor^(n-1)`, capped at `max_delay`, then shortened by
a random share up to `jitter` (so the notices that failed together during an outage do not all come back
in the same second), and never shorter than a Retry-After the endpoint asked for. A permanent failure goes
to the dead letters at once; a retryable one after `max_attempts` tries, or when the next try would come
later than `give_up_after` from the first. An operator's retry (`rectify notices retry`) starts afresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from rectify.channels.outcome import Attempt, Outcome
from rectify.domain.types import Frozen, UtcDateTime


class RetryPolicy(Frozen):
    first_delay: timedelta = timedelta(seconds=15)
    factor: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    max_delay: timedelta = timedelta(minutes=30)
    #: 0: the exact exponential wait; 1: anywhere from zero to it ("full jitter").
    jitter: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 20
    give_up_after: timedelta = timedelta(hours=24)

    def delay(self, failures: int, rand: float) -> timedelta:
        """The wait after the `failures`-th failed try in a row (1, 2, …); `rand` is uniform in [0, 1)."""
        if failures < 1:
            raise ValueError(f"failures counts from 1, got {failures}")
        if not 0.0 <= rand < 1.0:
            raise ValueError(f"rand must lie in [0, 1), got {rand}")
        # Capped before it is computed, so a long outage never overflows the float.
        exponent = min(failures - 1, 64)
        base = min(self.max_delay.total_seconds(), self.first_delay.total_seconds() * self.factor**exponent)
        return timedelta(seconds=base * (1.0 - self.jitter * rand))

    def schedule(self, rands: list[float]) -> list[timedelta]:
        """The waits after each failure in turn, for as many failures as `rands` has values."""
        return [self.delay(n, r) for n, r in enumerate(rands, start=1)]


class Delivered(Frozen):
    at: UtcDateTime


class RetryAt(Frozen):
    at: UtcDateTime


class GiveUp(Frozen):
    """Into the dead letters: nothing more is tried until an operator retries it."""

    reason: str


Next = Delivered | RetryAt | GiveUp


def next_step(policy: RetryPolicy, attempt: Attempt, *, failures: int, first_at: datetime, rand: float) -> Next:
    """What follows `attempt`, the latest try; `failures` counts the failed tries so far, this one included.

    `first_at` is when the first try was made (or the operator's retry); the next try is timed from the
    end of this one.
    """
    done_at = attempt.started_at + timedelta(milliseconds=attempt.elapsed_ms)
    match attempt.outcome:
        case Outcome.DELIVERED:
            return Delivered(at=done_at)
        case Outcome.PERMANENT:
            return GiveUp(reason=f"permanent failure: {attempt.reason}")
        case Outcome.RETRYABLE:
            pass
    if failures >= policy.max_attempts:
        return GiveUp(reason=f"gave up after {failures} attempts; the last: {attempt.reason}")
    wait = policy.delay(failures, rand)
    if attempt.retry_after_s is not None:
        wait = max(wait, min(timedelta(seconds=attempt.retry_after_s), policy.max_delay))
    at = done_at + wait
    if at - first_at > policy.give_up_after:
        return GiveUp(reason=f"not delivered within {policy.give_up_after}; the last: {attempt.reason}")
    return RetryAt(at=at)
