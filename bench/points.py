"""Points and rounds: the battle map's data against its bare query, and a round of 20 points against 20 reports.

- The battle map (攻坚作战图): `store.inspections.battle_map` for N points (the sample city's 48 repeated, each its
  own point) with a year of records: one inspection a week, one visit in ten failing an item and opening a case
  (left open, the heavier case for readiness), all decided by the real deciders and written through the store's
  append, so the `points` and `cases` read models are what production leaves. Its baseline is the same two SQL
  statements fetched raw (no models, no readiness). Both take turns; the rows give p95 and p50 of each.
- A round of 20 points: a round started by hand and its 20 points recorded one after another through the SDK
  (every item passing), against 20 case reports one after another through the same SDK, worker, Temporal dev
  server and database. Both take turns; the row gives the median of each.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.results import Target, row
from bench.temporal import percentile
from rectify.city.sampling import inside_points
from rectify.devstack import TestStack
from rectify.domain import commands as c
from rectify.domain.battle_map import BoardPoint
from rectify.domain.decider import case_id_for, decide
from rectify.domain.inspection import InspectionPoint, point_stream, route_failure
from rectify.domain.points import ItemAnswer, LinkFailureCase, RecordInspection, decide_point, fold_point
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR, Actor, Channel, EvidenceRef, Role
from rectify.store import EventStore, inspections, migrate

INSPECTOR = Actor(unit_id="office_inspection", role=Role.INSPECTOR)
DISPATCHER = Actor(unit_id="office_command", role=Role.DISPATCHER)
PHOTO = EvidenceRef(sha256="0" * 64, size=1024, media_type="image/jpeg")
#: The moment the year of records ends; the battle map is read at it.
END = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
#: The two statements of `inspections.battle_map` (store/inspections.py), fetched raw: the baseline.
BARE = (
    """SELECT point_id, last_checked_at, failed_items FROM points
           WHERE $1::text[] IS NULL OR point_id = ANY($1::text[])""",
    """SELECT point_id, case_id, status, due_at, escalation_level FROM cases
       WHERE point_id IS NOT NULL AND ($1::text[] IS NULL OR point_id = ANY($1::text[]))
       ORDER BY point_id, opened_at, case_id""",
)


def many_points(city: Any, n: int) -> list[InspectionPoint]:
    """n points: the city's own, repeated under new ids (same categories, places and responsible units)."""
    models = sorted(city.points.values(), key=lambda p: p.point_id)
    return [models[i % len(models)].model_copy(update={"point_id": f"b{i:05}"}) for i in range(n)]


def year_of(city: Any, point: InspectionPoint, weeks: int, rng: random.Random) -> tuple[list, list]:
    """A point's stream over `weeks` weekly visits, and the cases its failures opened (each a case stream)."""
    policy = city.policy
    items = policy.inspection.point_categories[point.category].items
    events: list = []
    cases: list = []
    state = None
    for week in range(weeks):
        at = END - timedelta(weeks=weeks - 1 - week, hours=1 + rng.random() * 48)
        failing = items[rng.randrange(len(items))] if rng.random() < 0.1 else None
        round_id = f"bench-w{week}"
        answers = tuple(
            ItemAnswer(item=i.code, passed=False, evidence=(PHOTO,), note="不符合要求")
            if i is failing
            else ItemAnswer(item=i.code, passed=True)
            for i in items
        )
        visit = RecordInspection(
            command_id=f"{point.point_id}/{week}",
            case_id=point_stream(point.point_id),
            actor=INSPECTOR,
            point=point,
            round_id=round_id,
            answers=answers,
        )
        made = decide_point(state, visit, at, policy)
        state = fold_point(made, state)
        events += made
        if failing is None:
            continue
        key = f"round/{round_id}/{point.point_id}/{failing.code}"
        report = c.ReportCase(
            command_id=str(uuid.uuid4()),
            case_id=case_id_for(key),
            actor=INSPECTOR,
            idempotency_key=key,
            category=failing.case_category,
            description=f"{point.name}：{failing.text}（未通过）",
            location=point.location,
            channel=Channel.INSPECTION,
            routing=route_failure(city.router.route(failing.case_category, point.location), point),
            point_id=point.point_id,
        )
        opened = decide(None, report, at, policy)
        if at < END - timedelta(weeks=2):  # worked and closed; the last fortnight's are still open
            opened = worked(opened, at, policy)
        cases.append((report.case_id, opened, fold(opened)))
        link = LinkFailureCase(
            command_id=f"{key}/link",
            case_id=visit.case_id,
            actor=SYSTEM_ACTOR,
            item=failing.code,
            opened_case_id=report.case_id,
            round_id=round_id,
        )
        made = decide_point(state, link, at, policy)
        state = fold_point(made, state)
        events += made
    return events, cases


def worked(events: list, at: datetime, policy: Any) -> list:
    """A case's report, then its unit's claim, its fix and the inspector's pass: closed within three days."""
    state = fold(events)
    assert state is not None and state.lead_unit is not None
    unit = Actor(unit_id=state.lead_unit, role=Role.UNIT)
    steps = [
        (c.ClaimCase, unit, {}, timedelta(hours=2)),
        (c.SubmitRectification, unit, {"evidence": (PHOTO,), "note": "已整改"}, timedelta(days=1)),
        (c.VerifyCase, INSPECTOR, {"passed": True}, timedelta(days=2)),
    ]
    out = list(events)
    for command, actor, fields, after in steps:
        made = decide(
            state,
            command(command_id=str(uuid.uuid4()), case_id=state.case_id, actor=actor, **fields),
            at + after,
            policy,
        )
        state = fold(made, state)
        out += made
    return out


async def fill(store: EventStore, city: Any, points: list[InspectionPoint], weeks: int, batch: int = 20) -> int:
    """Write every point's year and its cases through the store's append; the number of events written."""
    rng = random.Random(20)
    written = 0
    for start in range(0, len(points), batch):
        streams = []
        for point in points[start : start + batch]:
            events, cases = year_of(city, point, weeks, rng)
            streams.append((point_stream(point.point_id), 0, events, fold_point(events)))
            streams += [(case_id, 0, evs, after) for case_id, evs, after in cases]
        await store.append_many(streams)
        written += sum(len(s[2]) for s in streams)
    return written


async def battle_map(pg: Any, city: Any, n_points: int, weeks: int, reps: int) -> list[dict]:
    url = await pg.create_database(f"bench_points_{uuid.uuid4().hex[:8]}")
    store = await EventStore.connect(url, max_size=4)
    try:
        await migrate(store.pool)
        points = many_points(city, n_points)
        events = await fill(store, city, points, weeks)
        cases = await store.pool.fetchval("SELECT count(*) FROM cases WHERE point_id IS NOT NULL")
        full: list[float] = []
        bare: list[float] = []
        shown: list[BoardPoint] = []

        async def one_full() -> None:
            at = time.perf_counter()
            shown[:] = await inspections.battle_map(store.pool, points, city.policy, END)
            full.append((time.perf_counter() - at) * 1000)

        async def one_bare() -> None:
            at = time.perf_counter()
            for sql in BARE:
                await store.pool.fetch(sql, None)
            bare.append((time.perf_counter() - at) * 1000)

        await one_full()  # warm both: the first read of each table pays for the cache
        await one_bare()
        full.clear()
        bare.clear()
        for i in range(reps):
            for job in (one_bare, one_full) if i % 2 else (one_full, one_bare):
                await job()
    finally:
        await store.close()
    assert len(shown) == n_points
    levels = {lv: sum(1 for r in shown if r.readiness.level.value == lv) for lv in ("ready", "stale", "not_ready")}
    size = {
        "size": n_points,
        "size_unit": "points",
        "size_text": f"{n_points:,} points, {weeks} weeks ({events:,} events, {cases:,} cases)",
    }
    details = {"reps": reps, "levels": levels, "p50_ms": statistics.median(full)}
    details["bare_p50_ms"] = statistics.median(bare)
    return [
        row(
            "points.battle_map_p95",
            "points",
            "battle map data (readiness of every point), p95",
            unit="ms",
            better="lower",
            value=percentile(full, 95),
            baseline_name="its two SQL statements fetched raw, p95",
            baseline=percentile(bare, 95),
            target=Target("<=", 3.0, "≤ 3× (p95)", size=5000),
            details=details,
            **size,
        )
    ]


async def rounds(pg: Any, city: Any, reps: int, width: int = 20) -> list[dict]:
    """A round of `width` points recorded one by one, against `width` reports one by one, on the same stack."""
    spots = inside_points(city)
    chosen = sorted(city.points)[:width]
    answers = {
        p: [ItemAnswer(item=i.code, passed=True) for i in city.policy.inspection.point_categories[pt.category].items]
        for p, pt in ((p, city.points[p]) for p in chosen)
    }
    walked: list[float] = []
    reported: list[float] = []
    async with TestStack(pg=pg, time_skipping=False) as stack:
        client = stack.client

        async def walk(tag: str) -> None:
            at = time.perf_counter()
            state = await client.start_round(point_ids=chosen, actor=DISPATCHER, round_id=f"bench-{tag}")
            for point_id in chosen:
                await client.record_point(state.round_id, point_id, INSPECTOR, answers[point_id])
            walked.append(time.perf_counter() - at)

        async def report(tag: str) -> None:
            at = time.perf_counter()
            for i in range(width):
                await client.report(
                    idempotency_key=f"bench-points-{tag}-{i}",
                    category="street_vending",
                    description="人行道上有流动摊贩占道经营，影响通行",
                    location=spots[(i * 7) % len(spots)],
                    channel=Channel.INSPECTION,
                    actor=INSPECTOR,
                )
            reported.append(time.perf_counter() - at)

        await walk("warm")  # the first of each pays for the workers' caches
        await report("warm")
        walked.clear()
        reported.clear()
        for i in range(reps):
            tag = f"{i}-{uuid.uuid4().hex[:6]}"
            for job in (report, walk) if i % 2 else (walk, report):
                await job(tag)
    return [
        row(
            "points.round_20",
            "points",
            f"a round of {width} points recorded, median",
            unit="s",
            better="lower",
            value=statistics.median(walked),
            baseline_name=f"{width} case reports through the same stack, median",
            baseline=statistics.median(reported),
            size=width,
            size_unit="points",
            size_text=f"{width} points × {reps} rounds",
            details={"rounds_s": walked, "reports_s": reported},
        )
    ]


async def run(pg: Any, city: Any, n_points: int, weeks: int, map_reps: int, round_reps: int) -> list[dict]:
    return await battle_map(pg, city, n_points, weeks, map_reps) + await rounds(pg, city, round_reps)
