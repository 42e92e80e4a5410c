"""The duplicate rule's time window: a repeat report joins an open case opened recently enough, not an old one.

The rule lives in domain/duplicates.py; the SDK asks it with the candidates the store's one query gives
(`RectifyClient.duplicate_of`, which takes the moment explicitly), so the window is tested here at its edges
on a real store (embedded PostgreSQL, time-skipping Temporal).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from tests.scenario import REPORTER, point_in

SECOND = timedelta(seconds=1)


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def test_a_repeat_report_joins_an_open_case_only_within_the_window(stack: TestStack) -> None:
    service = stack.client
    spot = point_in(stack.city, "st_guanyinqiao")
    ref = await stack.client.report(
        idempotency_key="window-1",
        category="street_vending",
        description="流动摊贩占道经营",
        location=spot,
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    opened = (await stack.store.get_case(ref.case_id)).opened_at
    policy = stack.city.policy
    assert policy.categories["street_vending"].duplicate_window_hours is None  # the city-wide window applies
    window = timedelta(hours=policy.duplicate_window_hours)
    for now in (opened, opened + window - SECOND, opened + window):
        found = await service.duplicate_of("street_vending", spot, now)
        assert found is not None and found.case_id == ref.case_id and found.distance_m == 0, now - opened
    assert await service.duplicate_of("street_vending", spot, opened + window + SECOND) is None

    # A category's own window overrides the city's.
    spec = policy.categories["street_vending"].model_copy(update={"duplicate_window_hours": 1.0})
    narrow = policy.model_copy(update={"categories": policy.categories | {"street_vending": spec}})
    service.city = dataclasses.replace(stack.city, policy=narrow)
    assert (await service.duplicate_of("street_vending", spot, opened + timedelta(minutes=59))) is not None
    assert await service.duplicate_of("street_vending", spot, opened + timedelta(minutes=61)) is None
