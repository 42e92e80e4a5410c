"""What every part of the SDK holds (Temporal, the store, the city) and the two checks every request passes."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.client import Client

from rectify.city import City
from rectify.client.errors import CommandRejected, ServerUnavailable, rejected
from rectify.domain.errors import DomainError
from rectify.domain.text import check_text
from rectify.store import EventStore
from rectify.store.idempotency import IdempotencyStore, fingerprint


class ClientCore:
    def __init__(
        self,
        temporal: Client,
        store: EventStore,
        city: City,
        task_queue: str = "rectify-cases",
        *,
        continue_as_new_after: int | None = None,
    ) -> None:
        self.temporal, self.store, self.city, self.task_queue = temporal, store, city, task_queue
        #: Cap on a case run's history length before it continues as new (None: when Temporal suggests).
        self.continue_as_new_after = continue_as_new_after
        self.idempotency = IdempotencyStore(store.pool)

    def _check_text(self, command: Any) -> None:
        """The decider's own text rule, applied before sending: what cannot be stored is never sent at all."""
        try:
            check_text(command, self.city.policy.text_limits(), case_id=command.case_id)
        except DomainError as error:
            raise rejected(error) from None

    async def _bind(self, key: str, operation: str, command: Any) -> None:
        """The SDK's idempotency rule, the HTTP API's too: a key (a report's idempotency key, a command's id)
        names one request. Sent again with the same content it is answered as before; with other content it
        is refused, never run. Fields the SDK derives itself (ids, routing, looked-up status) do not count."""
        content = command.model_dump(mode="json", exclude={"command_id", "routing", "target_status", "distance_m"})
        try:
            bound_to = await self.idempotency.bind("sdk", key, operation, fingerprint(content))
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as error:
            raise ServerUnavailable(f"PostgreSQL could not be reached to check {key}: {error}") from error
        if bound_to is not None:
            raise CommandRejected(
                f"{key} was already used for another {bound_to} request with different content; "
                "a retry must repeat the request exactly, a new request needs a new key",
                rule="idempotency_key_reused",
                case_id=command.case_id,
            )
