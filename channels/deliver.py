"""One try of one notice through one channel, under its circuit and the retry rule: what step 2's delivery
activity runs for each due delivery, and what the tests drive against real receivers.

`deliver_once` asks the circuit, sends (or not), tells the circuit, and says what comes next: delivered,
try again at a moment, or give up into the dead letters. The caller records the attempt and the next step.
"""

from __future__ import annotations

from datetime import timedelta

from rectify.channels.circuit import Circuits, Wait
from rectify.channels.config import Channel
from rectify.channels.outcome import Attempt, Clock, utc_now
from rectify.channels.retry import GiveUp, Next, RetryAt, RetryPolicy, next_step
from rectify.channels.send import Sender
from rectify.channels.text import NoticeText
from rectify.domain.types import Frozen, UtcDateTime

#: Notices held back by an open circuit come back spread over this share of the wait, not all at once.
CIRCUIT_SPREAD = 0.2


class Delivery(Frozen):
    """A notice on its way to one channel, as kept between tries."""

    notice_id: str
    channel_id: str
    #: Failed tries since the first (or since an operator's retry).
    failures: int = 0
    first_at: UtcDateTime | None = None


class Step(Frozen):
    #: None when the circuit held the notice back (nothing was sent, so there is nothing to record).
    attempt: Attempt | None
    next: Next
    delivery: Delivery
    #: When the step ended.
    at: UtcDateTime


class DeadLetter(Frozen):
    """A delivery given up: listed by `rectify notices failed`, sent afresh by `rectify notices retry`."""

    notice_id: str
    channel_id: str
    reason: str
    attempts: int
    failed_at: UtcDateTime


async def deliver_once(
    sender: Sender,
    circuits: Circuits,
    channel: Channel,
    text: NoticeText,
    delivery: Delivery,
    *,
    retry: RetryPolicy,
    rand: float,
    clock: Clock = utc_now,
) -> Step:
    """One try; `rand` (uniform in [0, 1)) spreads the retries.

    A notice held back by an open circuit is not an attempt, but its time runs: once the circuit's wait
    would take it past `retry.give_up_after` from its first consideration, it is given up too.
    """
    now = clock()
    verdict = await circuits.admit(channel.id, now)
    if isinstance(verdict, Wait):
        first_at = delivery.first_at or now
        held = delivery.model_copy(update={"first_at": first_at})
        if verdict.until - first_at > retry.give_up_after:
            return Step(
                attempt=None, next=GiveUp(reason=f"circuit open past {retry.give_up_after}"), delivery=held, at=now
            )
        spread = max(verdict.until - now, timedelta(0)) * (CIRCUIT_SPREAD * rand)
        return Step(attempt=None, next=RetryAt(at=verdict.until + spread), delivery=held, at=now)
    attempt = await sender.send(channel, text)
    done = clock()
    await circuits.record(channel.id, attempt, done)
    failures = delivery.failures + (0 if attempt.delivered else 1)
    first_at = delivery.first_at or attempt.started_at
    after = next_step(retry, attempt, failures=failures, first_at=first_at, rand=rand)
    kept = delivery.model_copy(update={"failures": failures, "first_at": first_at})
    return Step(attempt=attempt, next=after, delivery=kept, at=done)


def dead_letter(step: Step) -> DeadLetter | None:
    """The dead letter a step that gave up leaves (None for any other step)."""
    if not isinstance(step.next, GiveUp):
        return None
    return DeadLetter(
        notice_id=step.delivery.notice_id,
        channel_id=step.delivery.channel_id,
        reason=step.next.reason,
        attempts=step.delivery.failures,
        failed_at=step.at,
    )
