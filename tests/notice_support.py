"""Notices made the way the system makes them: commands through the decider, notifications from the events,
facts from the case after each batch, words from channels/text.py."""

from __future__ import annotations

from datetime import timedelta

from rectify.channels.text import NoticeText, compose
from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.events import Event
from rectify.domain.notifications import NoticeFacts, notice_facts, notifications_for
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState, fold
from tests.given import POLICY, T0, report, tick

BASE_URL = "https://rectify.example.invalid/"


def facts_of(
    *steps: tuple[timedelta, c.Command], policy: Policy = POLICY
) -> tuple[list[NoticeFacts], CaseState | None, list[Event]]:
    """Every notice's facts, in order, for commands accepted at T0 + each offset."""
    state: CaseState | None = None
    found: list[NoticeFacts] = []
    history: list[Event] = []
    for offset, command in steps:
        events = decide(state, command, T0 + offset, policy)
        state = fold(events, state)
        history += events
        for note in notifications_for(events, state.lead_unit if state else None):
            event = next(e for e in events if e.event_id == note.event_id)
            found.append(notice_facts(note, event, state, policy))
    return found, state, history


def ladder_notices(**report_fields: object) -> list[NoticeFacts]:
    """A case dispatched at T0 and left alone for three days: dispatch, both misses, 催办 and 曝光."""
    found, _, _ = facts_of((timedelta(0), report(**report_fields)), (timedelta(days=3), tick()))
    return found


def a_notice(kind: str = "case_dispatched", **report_fields: object) -> NoticeText:
    facts = next(f for f in ladder_notices(**report_fields) if f.kind == kind)
    return compose(facts, POLICY, BASE_URL)
