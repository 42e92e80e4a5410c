"""The commands of the command table (domain/command_table.py) as `rectify` subcommands, built, not written.

Each takes the case (or proceeding) id, one option per input of its entry (`--reason`, `--to`, `--pass/--fail`,
`--photo` …), the actor (`--by UNIT`, alias `--unit`; `--role` where the entry allows more than one) and
`--json`. Inputs are checked against the command's model before any server is asked (a usage error, exit 2);
the rules' refusal is exit 1, naming the rule.
"""

from __future__ import annotations

import enum
import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from rectify.cli.common import JsonOpt, acting, console, emit, run_with_client, settings
from rectify.domain.command_table import COMMANDS, CommandSpec, Input, InputKind, Stream
from rectify.domain.types import Role

P = inspect.Parameter
_TARGET = {
    Stream.CASE: Annotated[str, typer.Argument(help="Case id.")],
    Stream.PROCEEDING: Annotated[str, typer.Argument(help="Proceeding id (acc-…).")],
}


def _target(spec: CommandSpec) -> str:
    return "proceeding_id" if spec.stream is Stream.PROCEEDING else "case_id"


def _option(spec: CommandSpec, i: Input) -> P:
    field = spec.model.model_fields[i.name]
    default = P.empty if field.is_required() else field.default
    if i.kind is InputKind.YES_NO:
        yes, no = i.choices or (i.name, f"no-{i.name}")
        annotation: Any = Annotated[bool, typer.Option(f"--{yes}/--{no}", help=i.help)]
    elif i.kind is InputKind.PHOTOS:
        annotation = Annotated[list[Path], typer.Option("--photo", help=f"{i.help} Repeatable.")]
        default = P.empty if field.is_required() else None
    else:
        kind = field.annotation if i.kind in (InputKind.CHOICE, InputKind.HOURS) else str
        annotation = Annotated[kind, typer.Option(f"--{i.option}", help=i.help)]
    return P(i.name, P.KEYWORD_ONLY, annotation=annotation, default=default)


def _signature(spec: CommandSpec) -> inspect.Signature:
    parameters = [
        P(_target(spec), P.POSITIONAL_OR_KEYWORD, annotation=_TARGET[spec.stream]),
        *(_option(spec, i) for i in spec.inputs),
        P(
            "by",
            P.KEYWORD_ONLY,
            annotation=Annotated[str | None, typer.Option("--by", "--unit", help="The acting unit.")],
            default=None,
        ),
    ]
    if len(spec.roles) > 1:  # only the roles the entry allows are offered
        roles = enum.Enum(f"{spec.method}_role", {r.name: r.value for r in spec.roles}, type=str)
        option = typer.Option("--role", help="Acting as.")
        parameters.append(P("role", P.KEYWORD_ONLY, annotation=Annotated[roles, option], default=spec.roles[0].value))
    parameters.append(P("as_json", P.KEYWORD_ONLY, annotation=JsonOpt, default=False))
    return inspect.Signature(parameters)


def _checked(spec: CommandSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the command's model takes them, or a usage error naming the option."""
    fields = spec.model.model_fields
    for i in spec.inputs:
        if i.kind is InputKind.PHOTOS or i.name not in given:
            continue
        field = fields[i.name]
        try:
            kind: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
            given[i.name] = TypeAdapter(kind).validate_python(given[i.name])
        except ValidationError as error:
            message = error.errors(include_input=False, include_url=False)[0]["msg"]
            raise typer.BadParameter(message, param_hint=f"--{i.option}") from None
    return given


def _render(result: Any) -> None:
    from rectify import views

    state = result.state
    if hasattr(state, "proceeding_id"):
        outcome = f", {state.outcome}" if state.outcome else ""
        types = ", ".join(e.type for e in result.events)
        console.print(f"proceeding [bold]{state.proceeding_id}[/bold] {state.status}{outcome}; recorded: {types}")
    else:
        views.print_command_result(console, result)


def build(spec: CommandSpec) -> Any:
    """The subcommand for one entry of the table."""

    def command(**options: Any) -> None:
        target, as_json, by = options.pop(_target(spec)), options.pop("as_json"), options.pop("by")
        actor = acting(by, Role(options.pop("role", spec.roles[0])))
        fields = _checked(spec, options)
        photos = [i for i in spec.inputs if i.kind is InputKind.PHOTOS and fields.get(i.name) is not None]
        for i in spec.inputs:  # optional photos not given (核查照片): the model's own default, not None
            if i.kind is InputKind.PHOTOS and fields.get(i.name) is None:
                fields.pop(i.name, None)
        if photos:
            from rectify.cli.inputs import read_photos

            files = {i.name: read_photos(fields[i.name]) for i in photos}

        async def action(client: Any) -> Any:
            if photos:
                from rectify import views
                from rectify.cli.inputs import keep_photos

                evidence = views.evidence_store(settings())
                for name, read in files.items():
                    fields[name] = await keep_photos(read, evidence, client.store.pool, actor.unit_id)
            return await client.run(spec.name, target, actor, stream=spec.stream, **fields)

        emit(run_with_client(action), as_json, _render)

    command.__name__ = spec.method
    command.__doc__ = spec.help
    command.__signature__ = _signature(spec)  # type: ignore[attr-defined]
    return command


def register(app: typer.Typer, stream: Stream) -> None:
    """Add every command of `stream` to `app`, named as the table names it."""
    for spec in COMMANDS:
        if spec.stream is stream:
            app.command(spec.name)(build(spec))
