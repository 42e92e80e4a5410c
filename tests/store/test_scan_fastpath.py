"""The scan's fast paths (store/fastpath.py) give exactly what domain/ defines: event ids, the chain hash of any
decoded body (floats orjson spells otherwise included), and checkpoint roots over any number of heads."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rectify.domain.canonical import GENESIS_HASH, canonical_json, chain_hash, checkpoint_root, merkle_root
from rectify.domain.decider import event_id
from rectify.store import fastpath

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@given(st.text(), st.integers(0, 50))
def test_event_ids_are_the_deciders(command_id: str, index: int) -> None:
    assert fastpath.event_id(command_id, index) == event_id(command_id, index)


@given(st.dictionaries(st.text(max_size=8), JSON, max_size=6))
def test_a_body_s_hash_is_recognised_exactly_when_the_canonical_form_gives_it(body: dict) -> None:
    text = json.dumps(json.loads(canonical_json(body)))  # as PostgreSQL sends it back
    stored = json.loads(text)
    digest = chain_hash(GENESIS_HASH, stored)
    assert fastpath.hash_matches(GENESIS_HASH, fastpath.decode(text), digest, text) == stored
    assert fastpath.hash_matches(GENESIS_HASH, stored, hashlib.sha256(b"other").hexdigest(), text) is None


@pytest.mark.parametrize("value", [1e16, 1e-7, 123456789012345678901234567890, -0.0, 1.5])
def test_numbers_orjson_spells_otherwise_fall_back_to_the_canonical_form(value: object) -> None:
    body = {"value": value}
    assert fastpath.hash_matches(GENESIS_HASH, body, chain_hash(GENESIS_HASH, body)) == body


@given(
    st.lists(st.tuples(st.text(min_size=1), st.integers(1, 99), st.just("ab" * 32), st.just("cd" * 32)), max_size=40)
)
def test_checkpoint_roots_are_the_domain_s(heads: list[tuple[str, int, str, str]]) -> None:
    heads = list({h[0]: h for h in heads}.values())  # one head per case
    at = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC)
    assert fastpath.checkpoint_root(len(heads), at, heads) == checkpoint_root(len(heads), at, heads)
    leaves = [canonical_json(list(h)) for h in heads]
    assert fastpath.merkle_root(leaves) == merkle_root(leaves)
