"""The SDK's commands, one method per entry of the command table (domain/command_table.py).

`client.run("claim", case_id, actor, **fields)` issues any of them by name; the methods built from the table
(`client.claim(case_id, actor)`, `client.request_extension(case_id, actor, hours, reason)`) carry real
signatures, taken from the command models, so `help()` and editors show the fields. `execute(command)` sends a
command the caller made whole (its own command id, bound once like an idempotency key).
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from rectify.client.base import ClientCore
from rectify.client.errors import CaseNotFound, CommandRejected, from_failure, invalid
from rectify.client.temporal import update
from rectify.domain import commands as c
from rectify.domain.accountability import ProceedingCommand
from rectify.domain.command_table import BY_MODEL, BY_NAME, COMMANDS, CommandSpec, Stream
from rectify.domain.types import OPEN_STATUSES, Actor, CaseStatus
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.models import CommandResult, ProceedingResult, workflow_id_for


async def _target_status(client: ClientCore, command: Any) -> CaseStatus | None:
    """A merge's target as the store has it: looked up here, never taken from the caller."""
    target = await client.store.get_case(command.into_case_id)
    return CaseStatus(target.status) if target else None


#: How the system fills a table entry's `filled` fields, by field name.
FILLERS: dict[str, Callable[[ClientCore, Any], Awaitable[Any]]] = {"target_status": _target_status}


class Commands(ClientCore):
    async def run(
        self,
        name: str,
        target_id: str,
        actor: Actor,
        *,
        stream: Stream = Stream.CASE,
        command_id: str | None = None,
        **fields: Any,
    ) -> CommandResult | ProceedingResult:
        """Issue the table's command `name` on a case (or, with `stream=Stream.PROCEEDING`, a proceeding).

        `fields` are the person's inputs. With `command_id` the request is bound to that id: repeated with the
        same fields it gets the first answer, with other fields it is refused (`idempotency_key_reused`)."""
        spec = BY_NAME[stream].get(name)
        if spec is None:
            raise ValueError(f"no {stream} command {name!r}; known: {', '.join(BY_NAME[stream])}")
        unknown = sorted(set(fields) - {i.name for i in spec.inputs})
        if unknown:
            raise TypeError(f"{name} takes no {', '.join(unknown)}")
        try:
            command = spec.model(command_id=command_id or str(uuid.uuid4()), case_id=target_id, actor=actor, **fields)
        except ValidationError as error:  # a field the model refuses is a rejection like any other
            raise invalid(error, target_id) from None
        if command_id is not None:
            return await self.execute(command)
        return await self._send(spec, command)

    async def execute(self, command: Any) -> Any:
        """Send a command made by the caller, as an Update whose id is the command id: a retry with the same id
        gets the first answer; the same id with another command is refused (`idempotency_key_reused`)."""
        self._check_text(command)
        await self._bind(f"{command.case_id}/{command.command_id}", command.type, command)
        spec = BY_MODEL.get(type(command))
        return await self._deliver(await self._fill(spec, command), spec.stream if spec else Stream.CASE)

    async def execute_proceeding(self, command: ProceedingCommand) -> ProceedingResult:
        """A proceeding's command made by the caller (the simulation's), sent as is."""
        self._check_text(command)
        return await self._deliver(command, Stream.PROCEEDING)

    async def _send(self, spec: CommandSpec, command: Any) -> Any:
        """The SDK's own methods: their command ids are new uuids, so there is nothing to bind."""
        self._check_text(command)  # before any looked-up id reaches the database
        return await self._deliver(await self._fill(spec, command), spec.stream)

    async def _fill(self, spec: CommandSpec | None, command: Any) -> Any:
        if spec is None or not spec.filled:
            return command
        return command.model_copy(update={name: await FILLERS[name](self, command) for name in spec.filled})

    async def _deliver(self, command: Any, stream: Stream) -> Any:
        if stream is Stream.PROCEEDING:
            handle: WorkflowHandle = self.temporal.get_workflow_handle(command.case_id)
            name, result_type = "command", ProceedingResult
        else:
            handle = self.temporal.get_workflow_handle(workflow_id_for(command.case_id))
            name, result_type = CaseWorkflow.command, CommandResult
        try:
            return await update(handle, name, command, id=command.command_id, result_type=result_type)
        except WorkflowUpdateFailedError as error:
            raise from_failure(error, command.case_id) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise await self._ended(command.case_id, stream) from None

    async def _ended(self, stream_id: str, stream: Stream) -> Exception:
        """Why a stream without a running workflow takes no command: it never existed, or it has ended."""
        if stream is Stream.PROCEEDING:
            rows = [p for p in await self.store.list_proceedings() if p.proceeding_id == stream_id]
            status = rows[0].status if rows else None
            what = f"proceeding {stream_id} is {status}; it takes no more steps"
        else:
            row = await self.store.get_case(stream_id)
            status = row.status if row else None
            what = f"case {stream_id} (status {status}) has ended; it takes no more commands"
            if row is not None and row.status in OPEN_STATUSES:  # open in the store: its cluster lost it, or moved
                what = f"case {stream_id} is {status} in the store, but no workflow runs it: run `rectify recover`"
        if status is None:
            return CaseNotFound(stream_id)
        return CommandRejected(what, rule="case_ended", case_id=stream_id, status=status)

    if TYPE_CHECKING:  # the methods built from the table below, as a type checker can know them

        def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]: ...


def _method(spec: CommandSpec) -> Callable[..., Awaitable[Any]]:
    """`spec` as a method: (case_id or proceeding_id, actor, *the person's inputs in the model's order)."""
    target = "proceeding_id" if spec.stream is Stream.PROCEEDING else "case_id"
    fields = spec.model.model_fields
    P = inspect.Parameter
    parameters = [
        P("self", P.POSITIONAL_OR_KEYWORD),
        P(target, P.POSITIONAL_OR_KEYWORD, annotation=str),
        P("actor", P.POSITIONAL_OR_KEYWORD, annotation=Actor),
        *(
            P(
                i.name,
                P.POSITIONAL_OR_KEYWORD,
                annotation=fields[i.name].annotation,
                default=P.empty if fields[i.name].is_required() else fields[i.name].default,
            )
            for i in spec.inputs
        ),
    ]
    result = ProceedingResult if spec.stream is Stream.PROCEEDING else CommandResult
    signature = inspect.Signature(parameters, return_annotation=result)

    async def method(self: Commands, *args: Any, **kwargs: Any) -> Any:
        values = signature.bind(self, *args, **kwargs)
        values.apply_defaults()
        given = {name: value for name, value in values.arguments.items() if name not in ("self", target, "actor")}
        arguments = values.arguments
        return await self.run(spec.name, arguments[target], arguments["actor"], stream=spec.stream, **given)

    method.__name__ = method.__qualname__ = spec.method
    method.__qualname__ = f"RectifyClient.{spec.method}"
    method.__doc__ = spec.help
    method.__signature__ = signature  # type: ignore[attr-defined]
    return method


for _spec in COMMANDS:
    setattr(Commands, _spec.method, _method(_spec))

__all__ = ["Commands", "c"]
