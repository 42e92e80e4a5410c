"""The envelope every recorded event carries, whatever its stream: a case, a proceeding, a point or a round."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rectify.domain.types import Actor, Frozen, UtcDateTime

SCHEMA_VERSION = 1


class EventBase(Frozen):
    event_id: str
    case_id: str
    version: Annotated[int, Field(ge=1)]
    occurred_at: UtcDateTime
    actor: Actor
    #: The command (or timer) that produced this event, and the report the whole case descends from.
    causation_id: str
    correlation_id: str
    schema_version: int = SCHEMA_VERSION
