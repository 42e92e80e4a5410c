"""The SDK's side of Temporal: connecting, registering the search attributes, and sending an update patiently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from rectify.client.errors import CommandRejected, ServerUnavailable, from_failure
from rectify.config import Settings
from rectify.workflows import search
from rectify.workflows.converter import data_converter

#: RPC answers meaning "not now" for an update: the server's limit of in-flight updates per workflow, an update
#: aborted because its workflow task timed out (its worker died), a workflow task not ready. Sent again with the
#: same update id, which the server deduplicates, for at most UPDATE_PATIENCE seconds.
_NOT_NOW = frozenset({RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.FAILED_PRECONDITION})
UPDATE_PATIENCE = 120.0


def _not_now(error: RPCError) -> bool:
    """The server's "not now" for an update. UNAVAILABLE counts only when the server itself says so about the
    update ("update was aborted"): a server that cannot be reached at all is not retried here for minutes."""
    if error.status is RPCStatusCode.UNAVAILABLE:
        return "update" in error.message.lower()
    return error.status in _NOT_NOW


async def update(handle: WorkflowHandle, name: Any, *args: Any, id: str, result_type: type | None = None) -> Any:
    return await _patiently(lambda: handle.execute_update(name, args=args, id=id, result_type=result_type))


async def update_with_start(
    client: Client,
    name: Any,
    start: Callable[[], WithStartWorkflowOperation],
    *,
    id: str,
    result_type: type | None = None,
) -> Any:
    """The update, sent with the start of its workflow in one call (`start` makes the operation, new for each try):
    the workflow's first task runs the update too, where a start and then an update take two tasks."""
    return await _patiently(
        lambda: client.execute_update_with_start_workflow(
            name, start_workflow_operation=start(), id=id, result_type=result_type
        )
    )


async def _patiently(send: Callable[[], Awaitable[Any]]) -> Any:
    """`send()`, sent again (with the same update id) while the server answers "not now"."""
    deadline, delay = time.monotonic() + UPDATE_PATIENCE, 0.2
    while True:
        try:
            return await send()
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                # Our own caller gave up (Ctrl-C, a timeout): not the server's "not now". The SDK turned the cancel
                # into its own error; give the caller its cancel back, so no "record the failure, go on" takes it.
                raise asyncio.CancelledError from error
            not_now = isinstance(error, WorkflowUpdateRPCTimeoutOrCancelledError) or _not_now(error)
            if not not_now or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def why_not_opened(handle: WorkflowHandle, case_id: str) -> CommandRejected:
    """A case workflow that ended without recording its report: its failure, as the rejection it carries."""
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError as failure:
        return from_failure(failure, case_id)
    return CommandRejected(f"case {case_id}: the report was not recorded", rule="failed", case_id=case_id)


def tls_config(settings: Settings) -> bool | TLSConfig:
    """TLS as configured: mTLS with the given certificates, server CA and name; plain TLS for RECTIFY_TEMPORAL_TLS
    or an API key (Temporal Cloud); otherwise none (the embedded dev server)."""
    given = (settings.temporal_client_cert, settings.temporal_server_ca, settings.temporal_server_name)
    if any(v is not None for v in given):
        return TLSConfig(
            client_cert=settings.temporal_client_cert,
            client_private_key=settings.temporal_client_key,
            server_root_ca_cert=settings.temporal_server_ca,
            domain=settings.temporal_server_name,
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


async def connect_temporal(
    settings: Settings, *, patience: float = 0.0, runtime: Any = None, interceptors: Sequence[Any] = ()
) -> Client:
    """A client of the configured Temporal. `patience`: seconds to keep trying, for a server this process
    has just started: its port opens before its frontend answers, the more so on a busy machine."""
    if not settings.temporal_address:
        raise ServerUnavailable("no Temporal address: set RECTIFY_TEMPORAL_ADDRESS or start `rectify up`")
    deadline = time.monotonic() + patience
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.namespace,
                data_converter=data_converter,
                tls=tls_config(settings),
                api_key=settings.temporal_api_key,
                runtime=runtime,
                interceptors=interceptors,
            )
        except RuntimeError as error:  # the core bridge reports connection failures as RuntimeError
            if time.monotonic() >= deadline:
                raise ServerUnavailable(
                    f"Temporal at {settings.temporal_address} could not be reached: {error}"
                ) from error
            await asyncio.sleep(0.5)


async def register_search_attributes(client: Client) -> None:
    """Register the case attributes on the namespace; upserting an unregistered one would hang workflows."""
    # The SDK's indexed-value enum shares its numbers with the API's IndexedValueType.
    wanted = {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in search.ALL_KEYS}
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted)
        )
    except RPCError as error:
        if error.status not in (RPCStatusCode.ALREADY_EXISTS, RPCStatusCode.UNIMPLEMENTED):
            raise
