"""The command table (domain/command_table.py) agrees with the deciders, and the SDK, CLI and /v1 follow it.

For every entry and every role: on a case where the command is otherwise acceptable, `decide` lets exactly the
table's roles through and refuses every other role as not authorised. So the table's "who may issue it" and
the rules cannot drift apart, and an entry without a rule (or a rule without an entry) fails here.
"""

from __future__ import annotations

import inspect
import typing
from datetime import timedelta

import pytest

from rectify.api import v1
from rectify.api.bodies import body_model
from rectify.cli import app as cli_app
from rectify.client import RectifyClient
from rectify.client.commands import FILLERS
from rectify.domain import commands as c
from rectify.domain.accountability import (
    OpenProceeding,
    Outcome,
    ProceedingCommand,
    ProceedingTick,
    SubmitExplanation,
    decide_proceeding,
    fold_proceeding,
)
from rectify.domain.command_table import BY_METHOD, COMMANDS, CommandSpec, InputKind, Stream
from rectify.domain.errors import NotAuthorised
from rectify.domain.types import SYSTEM_ACTOR, Actor, Role
from tests.given import CASE, LEAD, OTHER, POLICY, T0, claim, cmd, dispute, given, photo, report, submit, unit, verify

#: Commands only the system issues (or intake, which is not a command on a case).
SYSTEM_ONLY = {c.ReportCase, c.AbsorbCase, c.AttachDuplicate, c.Tick, OpenProceeding, ProceedingTick}
REASON = {"reason": "理由"}
PROCEEDING = "acc-case-7"


def _dispatched():
    return given(report())


def _closed():
    return given(report(), claim(), submit(), verify(True))


def _pending_extension():
    return given(report(), claim(), cmd(c.RequestExtension, unit(), hours=0.5, reason="需要时间"))


def _pending_suspension():
    return given(report(), cmd(c.RequestSuspension, unit(), reason="封闭施工"))


def _suspended():
    approve = cmd(c.DecideSuspension, Actor(unit_id="office_command", role=Role.DISPATCHER), approved=True, **REASON)
    return given(report(), cmd(c.RequestSuspension, unit(), reason="封闭施工"), approve)


#: Per entry: the state it acts on, and what the person (and the system) supply. A new entry needs one here.
SAMPLES = {
    "claim": (_dispatched, {}),
    "dispute": (_dispatched, REASON),
    "reassign": (_dispatched, {"to_unit": OTHER, **REASON}),
    "uphold": (lambda: given(report(), dispute()), REASON),
    "submit": (lambda: given(report(), claim()), {"evidence": (photo(),), "note": "已整改"}),
    "verify": (lambda: given(report(), claim(), submit()), {"passed": True, "note": ""}),
    "reject": (_dispatched, REASON),
    "withdraw": (_dispatched, REASON),
    "merge": (_dispatched, {"into_case_id": "another-case", "target_status": "dispatched"}),
    "reopen": (_closed, REASON),
    "extend": (_dispatched, {"hours": 0.5, **REASON}),
    "decide-extension": (_pending_extension, {"granted": True, **REASON}),
    "suspend": (_dispatched, REASON),
    "decide-suspension": (_pending_suspension, {"approved": True, **REASON}),
    "resume": (_suspended, REASON),
    "feedback": (_closed, {"satisfied": True, "note": ""}),
    "explain": ("referred", {"text": "人手不足，已增派力量"}),
    "decide": ("explained", {"outcome": Outcome.INTERVIEW, **REASON}),
}


def _proceeding(status: str):
    opened = OpenProceeding(
        command_id="open-1",
        case_id=PROCEEDING,
        actor=SYSTEM_ACTOR,
        subject_case_id=CASE,
        unit=LEAD,
        responsible_role=None,
        missed=(),
    )
    events = decide_proceeding(None, opened, T0, POLICY)
    if status == "explained":
        explain = SubmitExplanation(command_id="explain-1", case_id=PROCEEDING, actor=unit(), text="说明")
        events += decide_proceeding(fold_proceeding(events), explain, T0, POLICY)
    return fold_proceeding(events)


def _actor(role: Role) -> Actor:
    return unit(LEAD) if role is Role.UNIT else Actor(unit_id=f"someone_{role.value}", role=role)


def _decide(spec: CommandSpec, actor: Actor) -> list:
    setup, fields = SAMPLES[spec.name]
    if spec.stream is Stream.PROCEEDING:
        command = spec.model(command_id="x-1", case_id=PROCEEDING, actor=actor, **fields)
        return decide_proceeding(_proceeding(setup), command, T0 + timedelta(hours=1), POLICY)
    from rectify.domain.decider import decide

    command = spec.model(command_id="x-1", case_id=CASE, actor=actor, **fields)
    return decide(setup(), command, T0 + timedelta(hours=1), POLICY)


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_roles_in_the_table_are_exactly_the_ones_the_rules_let_through(spec: CommandSpec, role: Role) -> None:
    actor = _actor(role)
    if role in spec.roles:
        assert _decide(spec, actor), f"{spec.name} by a {role} decided nothing"
    else:
        with pytest.raises(NotAuthorised):
            _decide(spec, actor)


@pytest.mark.parametrize("spec", [s for s in COMMANDS if s.lead_unit_only], ids=lambda s: s.name)
def test_a_unit_other_than_the_lead_is_refused_where_the_table_says_lead_unit_only(spec: CommandSpec) -> None:
    with pytest.raises(NotAuthorised):
        _decide(spec, unit(OTHER))


def _members(union: object) -> set[type]:
    return set(typing.get_args(typing.get_args(union)[0]))


def test_every_command_a_person_issues_has_one_entry() -> None:
    people = (_members(c.Command) | _members(ProceedingCommand)) - SYSTEM_ONLY
    assert {s.model for s in COMMANDS} == people
    assert len({s.model for s in COMMANDS}) == len(COMMANDS)
    for stream in Stream:
        names = [s.name for s in COMMANDS if s.stream is stream]
        assert len(names) == len(set(names))
    assert len(BY_METHOD) == len(COMMANDS)


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_inputs_and_filled_fields_cover_the_model_and_every_input_has_its_words(spec: CommandSpec) -> None:
    own = set(spec.model.model_fields) - set(c.CommandBase.model_fields) - {"type"}
    inputs = [i.name for i in spec.inputs]
    assert set(inputs) | set(spec.filled) == own and not set(inputs) & set(spec.filled)
    assert inputs == [f for f in spec.model.model_fields if f in inputs]  # the model's order: the SDK's positions
    assert all(name in FILLERS for name in spec.filled)
    assert spec.label and spec.help and spec.roles
    for i in spec.inputs:
        assert i.label and i.help
        assert (i.kind is InputKind.YES_NO) == (i.choices is not None) == (i.choice_labels is not None)


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_the_sdk_method_takes_the_target_the_actor_and_the_inputs_in_order(spec: CommandSpec) -> None:
    method = getattr(RectifyClient, spec.method)
    target = "proceeding_id" if spec.stream is Stream.PROCEEDING else "case_id"
    names = list(inspect.signature(method).parameters)
    assert names == ["self", target, "actor", *(i.name for i in spec.inputs)]
    assert method.__doc__ == spec.help


def _cli_command(spec: CommandSpec):
    import typer

    root = typer.main.get_command(cli_app)
    group = root.commands["accountability"] if spec.stream is Stream.PROCEEDING else root
    return group.commands[spec.name]


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_the_cli_subcommand_offers_each_input_the_actor_and_json(spec: CommandSpec) -> None:
    options = {o for p in _cli_command(spec).params for o in (*p.opts, *p.secondary_opts)}
    for i in spec.inputs:
        if i.kind is InputKind.YES_NO:
            assert {f"--{i.choices[0]}", f"--{i.choices[1]}"} <= options
        else:
            assert ("--photo" if i.kind is InputKind.PHOTOS else f"--{i.option}") in options
    assert {"--by", "--unit", "--json"} <= options
    assert ("--role" in options) == (len(spec.roles) > 1)


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_the_v1_endpoint_takes_exactly_the_inputs_as_its_body(spec: CommandSpec) -> None:
    prefix = "/v1/proceedings/{proceeding_id}" if spec.stream is Stream.PROCEEDING else "/v1/cases/{case_id}"
    paths = {route.path for route in v1.router.routes}
    assert f"{prefix}/{spec.name}" in paths
    assert list(body_model(spec).model_fields) == [i.name for i in spec.inputs]
