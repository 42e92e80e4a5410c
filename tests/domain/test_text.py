"""Text in commands: what PostgreSQL cannot store, or what is too long, is refused by `decide` with a rule."""

from __future__ import annotations

import json

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from rectify.domain import commands as c
from rectify.domain.accountability import SubmitExplanation, decide_proceeding, fold_proceeding
from rectify.domain.decider import decide
from rectify.domain.errors import ERRORS_BY_RULE, InvalidText
from rectify.domain.events import event_body
from rectify.domain.policy import TextLimits
from rectify.domain.types import Actor, Role
from tests.support.given import POLICY, T0, claim, cmd, dispute, given, photo, referral, report, unit, when

NASTY = ["坏\x00数据", "a\ud800b", "响铃\x07", "删除\x7f", "C1\x85"]
FINE = ["אבג\u200f مرحبا", "🚧🙂‍↔️", "e\u0301\u0301\u0301", "'; DROP TABLE events; --", "<script>alert(1)</script>"]


@pytest.mark.parametrize("text", NASTY)
def test_a_report_whose_description_cannot_be_stored_is_refused_with_the_rule(text: str) -> None:
    with pytest.raises(InvalidText, match=r"description holds a (control character|lone surrogate)") as refused:
        when(None, report(description=text))
    assert refused.value.rule == "invalid_text" and ERRORS_BY_RULE["invalid_text"] is InvalidText


@pytest.mark.parametrize("text", NASTY)
def test_every_free_text_field_refuses_what_cannot_be_stored(text: str) -> None:
    claimed = given(report(), claim())
    dispatched = given(report())
    refusals = [
        (dispatched, cmd(c.DisputeCase, unit(), reason=text)),
        (dispatched, cmd(c.RequestExtension, unit(), hours=1, reason=text)),
        (claimed, cmd(c.SubmitRectification, unit(), evidence=(photo(),), note=text)),
        (dispatched, cmd(c.WithdrawCase, Actor(unit_id="citizen", role=Role.REPORTER), reason=text)),
        (None, report(address=text)),
        (None, report(media_url=f"https://example.org/{text}")),
    ]
    if "\ud800" not in text:  # pydantic itself refuses a lone surrogate in a length-constrained id
        refusals.append((dispatched, cmd(c.ClaimCase, Actor(unit_id=f"st_a{text}", role=Role.UNIT))))  # not only prose
    for state, command in refusals:
        with pytest.raises(InvalidText):
            when(state, command)
    with pytest.raises(InvalidText, match="note"):
        when(claimed, cmd(c.VerifyCase, unit(), passed=True, note=text))


def test_prose_keeps_line_breaks_and_tabs_but_an_address_is_one_line() -> None:
    state = given(report())
    assert when(state, cmd(c.DisputeCase, unit(), reason="第一行\n第二行\r\n\t缩进"))
    with pytest.raises(InvalidText, match="address holds a control character"):
        when(None, report(address="观音桥\n步行街"))


@pytest.mark.parametrize("text", FINE)
def test_unusual_but_storable_text_is_accepted(text: str) -> None:
    assert when(given(report()), dispute())
    events = when(given(report()), cmd(c.DisputeCase, unit(), reason=text))
    assert events[0].reason == text
    assert when(None, report(description=text, address=text))[0].description == text.strip()


def test_lengths_come_from_the_policy_and_the_error_names_the_field() -> None:
    policy = POLICY.model_copy(update={"text": TextLimits(reason_max_chars=10, address_max_chars=5)})
    state = given(report())
    decide(state, cmd(c.DisputeCase, unit(), reason="十" * 10), state.opened_at, policy)
    with pytest.raises(InvalidText, match="reason has 11 characters; at most 10"):
        decide(state, cmd(c.DisputeCase, unit(), reason="十" * 11), state.opened_at, policy)
    with pytest.raises(InvalidText, match="address has 6 characters; at most 5"):
        decide(None, report(address="六" * 6), state.opened_at, policy)
    with pytest.raises(InvalidText, match="reason is empty"):
        decide(state, cmd(c.DisputeCase, unit(), reason="  \n "), state.opened_at, policy)
    with pytest.raises(InvalidText, match="description has 2001 characters"):
        decide(None, report(description="长" * 2001), state.opened_at, policy)


def test_an_explanation_that_cannot_be_stored_is_refused_by_the_proceeding_decider() -> None:
    opened = decide_proceeding(None, referral(), T0, POLICY)
    state = fold_proceeding(opened)
    explain = SubmitExplanation(command_id="x1", case_id=state.proceeding_id, actor=unit(), text="说明\x00")
    with pytest.raises(InvalidText, match="text holds a control character"):
        decide_proceeding(state, explain, T0, POLICY)
    too_long = explain.model_copy(update={"text": "长" * 5001})
    with pytest.raises(InvalidText, match="5001 characters; at most 5000"):
        decide_proceeding(state, too_long, T0, POLICY)


@settings(max_examples=300, deadline=None)
@hypothesis_given(st.text(max_size=60))
def test_whatever_decide_accepts_can_be_encoded_for_the_store(text: str) -> None:
    """The property behind the rule: accepted text encodes to UTF-8 JSON that PostgreSQL jsonb takes."""
    state = given(report())
    try:
        events = when(state, cmd(c.DisputeCase, unit(), reason=text))
    except InvalidText:
        assert (
            "\x00" in text
            or any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)
            or not text.strip()
            or any(0x7F <= ord(ch) <= 0x9F or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)
        )
        return
    encoded = json.dumps(event_body(events[0]), ensure_ascii=False).encode("utf-8")
    assert b"\\u0000" not in encoded
