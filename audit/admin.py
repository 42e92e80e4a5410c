"""The audit's two writes: a checkpoint taken now, and an auditor's login. Everything else in audit/ only reads."""

from __future__ import annotations

import re

from rectify.domain.checkpoints import Checkpoint
from rectify.store import EventStore
from rectify.store import admin as server
from rectify.store.checkpoints import record_checkpoint

#: A PostgreSQL role name we create: lower-case letters, digits and _, not starting with a digit.
AUDITOR_NAME = re.compile(r"[a-z_][a-z0-9_]{1,40}")


async def take_checkpoint(store: EventStore) -> Checkpoint:
    """A checkpoint over every chain head now, as the `rectify-checkpoint` Schedule takes one each hour."""
    return await record_checkpoint(store.pool)


async def add_auditor(store: EventStore, name: str, password: str | None) -> None:
    """A login that reads everything and changes nothing (a member of `rectify_auditor`)."""
    if not AUDITOR_NAME.fullmatch(name):
        raise ValueError(f"auditor name {name!r}: use lower-case letters, digits and _ (2-41 characters)")
    await server.add_auditor(store.pool, name, password)
