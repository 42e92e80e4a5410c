"""Helpers for scenario tests through TestStack: actors, evidence, points in the city, a policy of seconds, a report
filed in bounded time, a trigger that makes PostgreSQL refuse events, and the `rectify` command run as a user would."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from datetime import UTC, datetime
from datetime import time as clock

from rectify.city.sampling import point_in
from rectify.client import CaseRef
from rectify.devstack import TestStack
from rectify.domain.calendar import WorkingCalendar, WorkingPeriod
from rectify.domain.policy import Policy, Rung, StageLimits
from rectify.domain.types import Actor, Channel, EvidenceRef, Role

DISPATCHER = Actor(unit_id="office_command", role=Role.DISPATCHER)
INSPECTOR = Actor(unit_id="office_inspection", role=Role.INSPECTOR)
REPORTER = Actor(unit_id="citizen", role=Role.REPORTER)
AUDITOR = Actor(unit_id="audit_office", role=Role.AUDITOR)

#: The interpreter of this run: `rectify` runs as `python -m rectify.cli` in it.
PYTHON = sys.executable
#: Seconds a report or a refusal must come back within (poison once hung an append for its whole ten minutes).
BOUND = 30
SECOND = 1 / 3600  # in hours


def unit(unit_id: str) -> Actor:
    return Actor(unit_id=unit_id, role=Role.UNIT)


def photo(label: str = "fixed") -> EvidenceRef:
    data = f"photo:{label}".encode()
    return EvidenceRef(sha256=hashlib.sha256(data).hexdigest(), size=len(data), media_type="image/jpeg")


def territorial_category(city: object) -> str:
    return next(code for code, c in city.policy.categories.items() if c.lead == "territorial")


def round_the_clock(policy: Policy) -> Policy:
    """Working time all day every day, a 2 s claim limit, a 6 s rectification limit, rungs 2 s apart."""
    now = datetime.now(UTC)
    calendar = WorkingCalendar(
        periods=(WorkingPeriod(start=clock(0), end=clock(23, 59, 59, 999999)),),
        known_years=frozenset({now.year, now.year + 1}),
    )
    categories = {
        code: category.model_copy(update={"rectify_limit_hours": 6 * SECOND})
        for code, category in policy.categories.items()
    }
    ladder = tuple(
        Rung(level=r.level, name=r.name, after_hours=2 * SECOND * i, points=r.points)
        for i, r in enumerate(policy.ladder)
    )
    return policy.model_copy(
        update={
            "calendar": calendar,
            "categories": categories,
            "ladder": ladder,
            "stages": StageLimits(dispatch_hours=2 * SECOND, claim_hours=2 * SECOND),
        }
    )


async def hotline_report(
    stack: TestStack, key: str, description: str = "占道经营", territory: str = "st_guanyinqiao"
) -> CaseRef:
    """A street-vending report by hotline in `territory`, through the SDK; it must answer within `BOUND` seconds."""
    ref = stack.client.report(
        idempotency_key=key,
        category="street_vending",
        description=description,
        location=point_in(stack.city, territory),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    return await asyncio.wait_for(ref, BOUND)


async def refuse_marked_events(stack: TestStack, marker: str) -> None:
    """PostgreSQL itself refuses these events as data (SQLSTATE 22P05), as it refuses a NUL in jsonb."""
    await stack.store.pool.execute(f"""
        CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body::text LIKE '%{marker}%' THEN
                RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'untranslatable_character';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_marked BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_marked();
    """)


def rectify(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`rectify ARGS` in its own process, with its output kept."""
    return subprocess.run(
        [PYTHON, "-m", "rectify.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


__all__ = [
    "AUDITOR",
    "BOUND",
    "DISPATCHER",
    "INSPECTOR",
    "PYTHON",
    "REPORTER",
    "hotline_report",
    "photo",
    "point_in",
    "rectify",
    "refuse_marked_events",
    "round_the_clock",
    "territorial_category",
    "unit",
]
