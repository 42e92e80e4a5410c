"""The pages' benchmark (bench/web.py) at a tiny size, so it cannot rot: a store filled by the direct engine,
every page requested through the real app, its queries recorded and replayed. Nothing is timed or judged here;
the rows must only be well formed, each page measured beside its own queries."""

from __future__ import annotations

from pathlib import Path

from bench import web
from bench.results import check
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres
from tests.support.starts import configured_start, monday_on_or_after


async def test_the_pages_bench_measures_every_page_beside_its_queries(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    city = load_city(DEFAULT_CITY_DIR)
    start = monday_on_or_after(configured_start(city.policy.calendar))
    rows = await web.run(pg, city, days=1, per_day=40, out=tmp_path, rounds=2, start=start)
    for r in rows:
        check(r)
    by_id = {r["id"]: r for r in rows}
    pages = ("queue", "queue_filtered", "map", "case", "public_map", "public_list")
    assert set(by_id) == {f"web.{p}.p{q}" for p in pages for q in (50, 95)} | {
        "web.map.map_bytes",
        "web.map.map_gzip_bytes",
    }
    for p in pages:
        p95 = by_id[f"web.{p}.p95"]
        assert p95["value"] > 0 and p95["baseline"]["value"] > 0, p
        assert p95["target"]["text"] == "≤ 3× its queries"
    assert by_id["web.case.p50"]["note"].startswith("GET /cases/")
    raw, packed = by_id["web.map.map_bytes"]["value"], by_id["web.map.map_gzip_bytes"]["value"]
    assert 0 < packed < raw
    assert rows[0]["size"]["value"] > 0 and rows[0]["size"]["unit"] == "cases"
