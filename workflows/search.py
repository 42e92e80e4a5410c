"""Typed search attributes: make cases listable in Temporal itself. No personal data here."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

from rectify.domain.state import CaseState

STATUS = SearchAttributeKey.for_keyword("RectifyStatus")
CATEGORY = SearchAttributeKey.for_keyword("RectifyCategory")
LEAD_UNIT = SearchAttributeKey.for_keyword("RectifyLeadUnit")
TERRITORIAL_UNIT = SearchAttributeKey.for_keyword("RectifyTerritorialUnit")
GRID = SearchAttributeKey.for_keyword("RectifyGrid")
ESCALATION_LEVEL = SearchAttributeKey.for_int("RectifyEscalationLevel")
DUE_AT = SearchAttributeKey.for_datetime("RectifyDueAt")

ALL_KEYS = (STATUS, CATEGORY, LEAD_UNIT, TERRITORIAL_UNIT, GRID, ESCALATION_LEVEL, DUE_AT)


def _values(state: CaseState) -> dict[SearchAttributeKey, Any]:
    return {
        STATUS: state.status.value,
        CATEGORY: state.category,
        LEAD_UNIT: state.lead_unit,
        TERRITORIAL_UNIT: state.territorial_unit,
        GRID: state.grid_id,
        ESCALATION_LEVEL: state.escalation_level,
        DUE_AT: state.due_at,
    }


def updates_for(state: CaseState) -> list[SearchAttributeUpdate]:
    """The attribute values that describe `state`; unset ones are removed rather than left stale."""
    return [key.value_set(value) if value is not None else key.value_unset() for key, value in _values(state).items()]


def attributes_for(state: CaseState) -> TypedSearchAttributes:
    """The attributes a workflow starting from `state` begins with (`rectify recover`)."""
    return TypedSearchAttributes([SearchAttributePair(k, v) for k, v in _values(state).items() if v is not None])


def changes_for(state: CaseState, current: TypedSearchAttributes) -> list[SearchAttributeUpdate]:
    """`updates_for(state)` without those the workflow holds already: a claim changes its status, not its
    category or grid, and an upsert that changes nothing still costs the server a visibility write."""
    return [u for u in updates_for(state) if current.get(u.key) != u.value]
