"""The case workflow upserts only the search attributes an append changed (workflows/search.py `changes_for`)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from rectify.domain.state import CaseState, fold
from rectify.workflows import search
from tests.support.given import claimed, reported


def _held(state: CaseState) -> TypedSearchAttributes:
    """What a workflow holds after upserting every attribute of `state` (unset ones are absent)."""
    return TypedSearchAttributes(
        [SearchAttributePair(u.key, u.value) for u in search.updates_for(state) if u.value is not None]
    )


def _changed(state: CaseState, held: TypedSearchAttributes) -> dict[str, object]:
    return {u.key.name: u.value for u in search.changes_for(state, held)}


def test_a_claim_upserts_its_status_only() -> None:
    state = fold(reported("attributes-1"))
    assert _changed(state, _held(state)) == {}
    after = fold(claimed(state), state)
    assert _changed(after, _held(state)) == {"RectifyStatus": "claimed"}


def test_a_moved_due_time_is_set_and_a_gone_one_unset() -> None:
    state = fold(reported("attributes-2"))
    assert state.due_at is not None
    rectify = state.deadlines["rectify"]
    moved = rectify.model_copy(update={"due_at": rectify.due_at + timedelta(days=2)})
    later = state.model_copy(update={"deadlines": state.deadlines | {"rectify": moved}})
    assert _changed(later, _held(state)) == {"RectifyDueAt": later.due_at}
    gone = state.model_copy(update={"deadlines": {}})
    assert _changed(gone, _held(state)) == {"RectifyDueAt": None}


def test_a_fresh_run_sets_every_value_and_unsets_nothing() -> None:
    state = fold(reported("attributes-3")).model_copy(update={"deadlines": {}})
    changed = _changed(state, TypedSearchAttributes([]))
    assert None not in changed.values()
    assert changed == {u.key.name: u.value for u in search.updates_for(state) if u.value is not None}
