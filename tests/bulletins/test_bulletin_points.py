"""The bulletin's section on inspection points (五、点位测评准备情况): readiness at the week's end by leader and unit,
the points not ready, in Chinese; rendered again after more records, the same bytes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from rectify.bulletins.issue import issue_bulletin, render_issued
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres
from rectify.domain.battle_map import by_leader, shares
from rectify.domain.periods import week_of
from rectify.domain.points import RecordInspection, decide_point, fold_point
from rectify.domain.types import Actor, Role
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.store import EventStore
from rectify.store.inspections import battle_map_at, point_records
from tests.support.starts import configured_start, monday_on_or_after


async def test_the_weekly_bulletin_reports_points_readiness_by_leader_and_unit(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    city = load_city(DEFAULT_CITY_DIR)
    policy, points = city.policy, tuple(city.points.values())
    start = monday_on_or_after(configured_start(policy.calendar))
    url = await pg.create_database(f"bulletin_points_{uuid.uuid4().hex[:8]}")
    config = SimConfig(seed=4, days=9, reports_per_day=8, start=start, rounds=True)
    options = SimOptions(
        config=config, engine=EngineName.DIRECT, out_dir=tmp_path, data_dir=tmp_path, database_url=url, charts=False
    )
    await simulate(city, options, Console(quiet=True))
    store = await EventStore.connect(url)
    try:
        period = week_of(start, policy.timezone)
        issued_on = period.last_day + timedelta(days=1)
        bulletin = await issue_bulletin(store, policy, period.label, tmp_path / "b", today=issued_on, points=points)
        md = (tmp_path / "b" / next(n for n in bulletin.files if n.endswith(".md"))).read_text("utf-8")
        section = md.split("### 五、点位测评准备情况")[1]
        board = await battle_map_at(store.pool, points, policy, period.end)
        ready = sum(1 for b in board if b.readiness.level == "ready")
        assert f"全区{len(points)}个实地考察点位中，达标{ready}个" in section
        for share in shares(board, by_leader):
            leader = policy.inspection.leaders[share.key].name
            assert f"| {leader} | {share.total} | {share.ready} | {share.stale} | {share.not_ready} |" in section
        assert "| 观音桥街道 |" in section and "#### （三）未达标点位" in section
        failing = [b.point.name for b in board if b.readiness.level == "not_ready"]
        assert failing and all(f"| {name} |" in section for name in failing)

        # A record made after the week ended changes the map today, not the week's bulletin.
        point = points[0]
        stored = await point_records(store.pool, point.point_id)
        state = fold_point(stored)
        photo = {"sha256": "e" * 64, "size": 9, "media_type": "image/jpeg"}
        answers = [  # every item failing: whatever the point was at the week's end, it is red now
            {"item": i.code, "passed": False, "evidence": [photo], "note": "周后检查发现问题"}
            for i in policy.inspection.point_categories[point.category].items
        ]
        late = RecordInspection(
            command_id=f"late-{uuid.uuid4()}",
            case_id=f"pt-{point.point_id}",
            actor=Actor(unit_id="office_inspection", role=Role.INSPECTOR),
            point=point,
            round_id="late",
            answers=answers,  # type: ignore[arg-type]
        )
        events = decide_point(state, late, period.end + timedelta(days=1), policy)
        await store.append(late.case_id, state.version if state else 0, events, fold_point(events, state))
        again = await render_issued(store, policy, bulletin.number, points)
        assert again is not None
        assert {name: data for name, data in again[1].items() if name.endswith(".md")} == {
            name: (tmp_path / "b" / name).read_bytes() for name in bulletin.files if name.endswith(".md")
        }
        without = await render_issued(store, policy, bulletin.number)
        assert without is not None
        assert all("点位测评准备情况" not in data.decode() for name, data in without[1].items() if name.endswith(".md"))
    finally:
        await store.close()
