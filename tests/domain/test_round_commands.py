"""The round's entries of the command table: the roles they name are exactly the ones `decide_round` lets through."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain.command_table import BY_NAME, ROUND_COMMANDS, Stream
from rectify.domain.errors import NotAuthorised
from rectify.domain.points import ItemAnswer
from rectify.domain.rounds import PlanRound, RecordPoint, decide_round, split_record
from rectify.domain.types import Actor, Role
from tests.support.given import T0
from tests.support.inspection import IPOLICY, MARKET, plan, round_after


def _attempt(model: type, role: Role) -> None:
    actor = Actor(unit_id="office_command", role=role)
    if model is PlanRound:
        decide_round(None, plan(actor=actor), T0, IPOLICY)
        return
    answers = (ItemAnswer(item="no_vending", passed=True), ItemAnswer(item="bins_ok", passed=True))
    record = RecordPoint(command_id="r", case_id="rd-r-1", actor=actor, point_id="p-market", answers=answers)
    on_round, _ = split_record(record, MARKET)
    decide_round(round_after((T0, plan())), on_round, T0 + timedelta(hours=1), IPOLICY)


@pytest.mark.parametrize("spec", ROUND_COMMANDS, ids=lambda s: s.name)
@pytest.mark.parametrize("role", [r for r in Role if r is not Role.SYSTEM])
def test_the_round_commands_roles_are_exactly_the_ones_the_rules_let_through(spec: object, role: Role) -> None:
    allowed = role in spec.roles  # type: ignore[attr-defined]
    try:
        _attempt(spec.model, role)  # type: ignore[attr-defined]
        passed = True
    except NotAuthorised:
        passed = False
    assert passed == allowed


def test_the_round_commands_are_named_once_with_their_sdk_methods() -> None:
    assert {s.name: s.method for s in BY_NAME[Stream.ROUND].values()} == {
        "start": "start_round",
        "record": "record_point",
    }
    assert all(s.label and s.help for s in ROUND_COMMANDS)
