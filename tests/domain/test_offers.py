"""What the pages offer a person on a case (domain/offers.py): exactly the commands the decider would take now.

given(events) / offered to whom → the table's entries by name.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.command_table import COMMANDS, Stream
from rectify.domain.decider import decide
from rectify.domain.errors import DomainError
from rectify.domain.offers import offered, probe
from rectify.domain.types import Actor, Role
from tests.support.given import (
    OTHER,
    POLICY,
    T0,
    auditor,
    claim,
    cmd,
    dispatcher,
    dispute,
    given,
    inspector,
    report,
    submit,
    unit,
    verify,
)

NOW = T0 + timedelta(hours=1)
LEADER_LIKE = Actor(unit_id="office_chuangwen", role=Role.REVIEWER)


def names(state, actor, at=NOW) -> set[str]:
    return {spec.name for spec in offered(state, actor, at, POLICY)}


def extension(hours: float) -> c.Command:
    return cmd(c.RequestExtension, unit(), hours=hours, reason="需要审批")


def grant() -> c.Command:
    return cmd(c.DecideExtension, dispatcher(), granted=True, reason="同意")


def test_a_dispatched_case_offers_the_lead_unit_its_four_commands_and_other_units_nothing() -> None:
    state = given(report())
    assert names(state, unit()) == {"claim", "dispute", "extend", "suspend"}
    assert names(state, unit(OTHER)) == set()
    assert names(state, dispatcher()) == {"reassign", "reject", "withdraw", "merge", "suspend"}
    assert names(state, inspector()) == set()
    assert names(state, auditor()) == set()
    assert names(state, LEADER_LIKE) == set()


def test_each_step_of_the_loop_moves_the_offer() -> None:
    claimed = given(report(), claim())
    assert names(claimed, unit()) == {"dispute", "submit", "extend", "suspend"}
    submitted = given(report(), claim(), submit())
    assert names(submitted, unit()) == set()
    assert names(submitted, inspector()) == {"verify"}
    assert names(submitted, dispatcher()) == {"verify"}
    closed = given(report(), claim(), submit(), verify(True))
    assert names(closed, inspector()) == {"reopen", "feedback"}
    answered = given(report(), claim(), submit(), verify(True), cmd(c.RecordFeedback, dispatcher(), satisfied=True))
    assert names(answered, dispatcher()) == {"reopen"}
    reworked = given(report(), claim(), submit(), verify(False))
    assert names(reworked, unit()) == {"dispute", "submit", "extend", "suspend"}


def test_a_dispute_goes_to_the_dispatcher() -> None:
    disputed = given(report(), dispute())
    assert names(disputed, dispatcher()) == {"reassign", "uphold", "reject", "withdraw", "merge", "suspend"}
    assert names(disputed, unit()) == {"suspend"}


def test_pending_requests_are_decided_by_the_dispatcher_and_not_asked_twice() -> None:
    pending = given(report(), claim(), extension(1))
    assert "extend" not in names(pending, unit())
    assert "decide-extension" in names(pending, dispatcher())
    asked = given(report(), claim(), cmd(c.RequestSuspension, unit(), reason="封闭施工"))
    assert "suspend" not in names(asked, unit())
    assert "decide-suspension" in names(asked, dispatcher())
    approve = cmd(c.DecideSuspension, dispatcher(), approved=True, reason="同意")
    suspended = given(report(), claim(), cmd(c.RequestSuspension, unit(), reason="封闭施工"), approve)
    assert names(suspended, dispatcher()) == {"resume", "merge"}
    assert names(suspended, unit()) == set()


def test_the_extension_cap_ends_the_offer() -> None:
    # street_vending allows 2 h of extensions in all (ratio 1.0 of its 2 h), at most two of them
    once = given(report(), claim(), extension(1), grant())
    assert "extend" in names(once, unit())
    full = given(report(), claim(), extension(2), grant())
    assert "extend" not in names(full, unit())
    twice = given(report(), claim(), extension(0.5), grant(), extension(0.5), grant())
    assert "extend" not in names(twice, unit())


def test_reopening_closes_with_its_window() -> None:
    closed = given(report(), claim(), submit(), verify(True))
    assert "reopen" in names(closed, dispatcher(), NOW + timedelta(days=29))
    assert "reopen" not in names(closed, dispatcher(), NOW + timedelta(days=31))


@pytest.mark.parametrize("spec", [s for s in COMMANDS if s.stream is Stream.CASE], ids=lambda s: s.name)
def test_every_case_command_has_a_probe_the_model_takes(spec) -> None:
    """A probe is a whole command: a new input kind without a stand-in would silently never be offered."""
    state = given(report(), claim())
    for role in spec.roles:
        command = probe(spec, state, Actor(unit_id="st_a", role=role), POLICY)
        assert command.type == spec.model.model_fields["type"].default
        try:
            decide(state, command, NOW, POLICY)
        except DomainError as error:  # refused for this state is fine; refused as malformed is not
            assert error.rule != "invalid_text", error
