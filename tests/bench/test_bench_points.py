"""The points benchmark's quick path runs end to end (a small battle map with a year of records, a round of 20
points against 20 reports) and gives rows the results file accepts. Nothing here is timed or judged by time."""

from __future__ import annotations

from bench.points import run
from bench.results import check
from bench.run import SIZES
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres


async def test_the_quick_points_benchmark_gives_its_two_rows(pg: EmbeddedPostgres) -> None:
    city = load_city(DEFAULT_CITY_DIR)
    quick = SIZES["quick"]
    rows = await run(pg, city, 60, quick["point_weeks"], map_reps=3, round_reps=1)
    assert [r["id"] for r in rows] == ["points.battle_map_p95", "points.round_20"]
    for r in rows:
        check(r)
        assert r["value"] > 0 and r["baseline"]["value"] > 0
    board = rows[0]
    assert board["size"]["value"] == 60 and "52 weeks" in board["size"]["text"]
    assert board["met"] is None and "5,000 points" in board["unjudged"]  # judged only at its size
    levels = board["details"]["levels"]
    assert sum(levels.values()) == 60 and levels["ready"] and levels["not_ready"]
    assert rows[1]["size"]["value"] == 20 and len(rows[1]["details"]["rounds_s"]) == 1
