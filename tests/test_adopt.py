"""Adopt on retry (workflows/adopt.py): what a retried workflow task makes of events an earlier attempt stored."""

from __future__ import annotations

from datetime import timedelta

from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.state import fold
from rectify.workflows.adopt import Adopted, by_command
from tests.given import POLICY, T0, cmd, report, unit


def _stored() -> tuple[list, list, list]:
    """A report, then a claim and an extension request as an earlier attempt of one task stored them."""
    opened = decide(None, report(), T0, POLICY)
    state = fold(opened)
    claim = decide(state, cmd(c.ClaimCase, unit()), T0 + timedelta(minutes=1), POLICY)
    state = fold(claim, state)
    extend = decide(state, cmd(c.RequestExtension, unit(), hours=2, reason="需协调"), T0 + timedelta(minutes=2), POLICY)
    return opened, claim, extend


def test_events_are_grouped_by_the_command_that_caused_them_in_order() -> None:
    opened, claim, extend = _stored()
    assert by_command([*opened, *claim, *extend]) == [opened, claim, extend]
    assert by_command([]) == []


def test_a_command_whose_events_the_store_holds_takes_them_and_nothing_is_held() -> None:
    _, claim, _ = _stored()
    adopted = Adopted()
    record, own = adopted.settle(claim[0].causation_id, claim)
    assert (record, own) == ([claim], claim)
    assert claim[0].causation_id not in adopted


def test_another_commands_events_are_recorded_first_and_held_for_it_until_its_update_asks() -> None:
    _, claim, extend = _stored()
    adopted = Adopted()
    record, own = adopted.settle(extend[0].causation_id, [*claim, *extend])
    assert (record, own) == ([claim, extend], extend)
    assert claim[0].causation_id in adopted
    assert adopted.take(claim[0].causation_id) == claim
    assert adopted.take(claim[0].causation_id) is None  # answered once


def test_only_other_commands_events_stored_means_decide_again_on_top_of_them() -> None:
    _, claim, extend = _stored()
    adopted = Adopted()
    record, own = adopted.settle("a-command-the-store-has-not-seen", [*claim, *extend])
    assert own is None and record == [claim, extend]
    assert adopted.take(claim[0].causation_id) == claim and adopted.take(extend[0].causation_id) == extend


def test_groups_after_the_commands_own_are_left_for_the_next_append_to_answer() -> None:
    _, claim, extend = _stored()
    adopted = Adopted()
    record, own = adopted.settle(claim[0].causation_id, [*claim, *extend])
    assert (record, own) == ([claim], claim)
    assert extend[0].causation_id not in adopted
