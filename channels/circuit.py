"""A circuit per endpoint (per channel): stop knocking on a door that does not open, and try it again later.

Closed: every notice is sent. After `failures_to_open` retryable failures in a row the circuit opens: no
notice is sent for `cool_down`, and each one waits (a wait is not an attempt). Then it is half-open: one
notice goes as the probe, and the others keep waiting; the probe's success closes the circuit, its failure
opens it for another cool-down. A probe that never reports (its worker died) is replaced after a cool-down.
Any answer that shows the endpoint up (delivered, or a permanent refusal of that one notice) closes it.

The state is a small record (`CircuitState`), kept by the store in one row per channel and changed under a
row lock, so every worker sees the same circuit. `admit` and `record` are pure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Protocol, assert_never

from pydantic import Field

from rectify.channels.outcome import Attempt, Outcome
from rectify.domain.types import Frozen, UtcDateTime


class CircuitPolicy(Frozen):
    failures_to_open: Annotated[int, Field(ge=1, le=1000)] = 5
    cool_down: timedelta = timedelta(minutes=1)


class Circuit(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitState(Frozen):
    channel_id: str
    state: Circuit = Circuit.CLOSED
    #: Retryable failures in a row.
    failures: int = 0
    opened_at: UtcDateTime | None = None
    #: When the half-open circuit let its probe through.
    probe_at: UtcDateTime | None = None


class Send(Frozen):
    #: This notice is the half-open circuit's probe.
    probe: bool = False


class Wait(Frozen):
    until: UtcDateTime


def admit(state: CircuitState, now: datetime, policy: CircuitPolicy) -> tuple[CircuitState, Send | Wait]:
    """May a notice go to this endpoint now? The new state (a probe is marked), and Send or Wait."""
    match state.state:
        case Circuit.CLOSED:
            return state, Send()
        case Circuit.OPEN:
            assert state.opened_at is not None
            reopens = state.opened_at + policy.cool_down
            if now < reopens:
                return state, Wait(until=reopens)
            return state.model_copy(update={"state": Circuit.HALF_OPEN, "probe_at": now}), Send(probe=True)
        case Circuit.HALF_OPEN:
            assert state.probe_at is not None
            lost = state.probe_at + policy.cool_down
            if now < lost:
                return state, Wait(until=lost)
            return state.model_copy(update={"probe_at": now}), Send(probe=True)
        case _:
            assert_never(state.state)


def record(state: CircuitState, attempt: Attempt, now: datetime, policy: CircuitPolicy) -> CircuitState:
    """The circuit after `attempt`'s outcome came back at `now`."""
    if attempt.outcome is not Outcome.RETRYABLE:
        return CircuitState(channel_id=state.channel_id)
    failures = state.failures + 1
    match state.state:
        case Circuit.HALF_OPEN:
            return state.model_copy(
                update={"state": Circuit.OPEN, "failures": failures, "opened_at": now, "probe_at": None}
            )
        case Circuit.CLOSED if failures >= policy.failures_to_open:
            return state.model_copy(update={"state": Circuit.OPEN, "failures": failures, "opened_at": now})
        case _:  # closed below the threshold, or already open (a try let through before it opened)
            return state.model_copy(update={"failures": failures})


def reopens_at(state: CircuitState, policy: CircuitPolicy) -> datetime | None:
    """When a notice may next go (None: now), for a health page or `rectify channels`."""
    if state.state is Circuit.OPEN and state.opened_at:
        return state.opened_at + policy.cool_down
    if state.state is Circuit.HALF_OPEN and state.probe_at:
        return state.probe_at + policy.cool_down
    return None


class Circuits(Protocol):
    """Where circuits are kept: in memory for one process (`MemoryCircuits`), in PostgreSQL for many."""

    async def admit(self, channel_id: str, now: datetime) -> Send | Wait: ...

    async def record(self, channel_id: str, attempt: Attempt, now: datetime) -> CircuitState: ...


class MemoryCircuits:
    """The circuits of one process (a CLI run, a test, a single worker): `admit` and `record` over a dict."""

    def __init__(self, policy: CircuitPolicy) -> None:
        self.policy = policy
        self.states: dict[str, CircuitState] = {}

    def state(self, channel_id: str) -> CircuitState:
        return self.states.get(channel_id) or CircuitState(channel_id=channel_id)

    async def admit(self, channel_id: str, now: datetime) -> Send | Wait:
        self.states[channel_id], verdict = admit(self.state(channel_id), now, self.policy)
        return verdict

    async def record(self, channel_id: str, attempt: Attempt, now: datetime) -> CircuitState:
        self.states[channel_id] = record(self.state(channel_id), attempt, now, self.policy)
        return self.states[channel_id]
