"""`make bench`: every benchmark as a ratio against a baseline measured in the same run, with its target.

    .venv/bin/python -m bench.run [--quick | --full]

Prints the table and writes bench/results.json. Embedded PostgreSQL and the Temporal dev server are
started here and stopped at the end, as everywhere else.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres

HERE = Path(__file__).parent
#: How big each benchmark runs at each size (cases, simulated days and reports a day, reports, live cases).
SIZES = {
    "quick": {"cases": 400, "days": 5, "per_day": 500, "intake": 150, "burst": 300, "month": 8, "timers": 100},
    "default": {"cases": 1500, "days": 20, "per_day": 2000, "intake": 300, "burst": 2000, "month": 14,
                "timers": 1000},
    "full": {"cases": 5000, "days": 40, "per_day": 2500, "intake": 1000, "burst": 2000, "month": 30,
             "timers": 10000},
}  # fmt: skip


def verdict(row: dict) -> bool:
    if "target" in row:
        return row["ratio"] >= row["target"]
    if "target_max" in row:
        return row["ratio"] <= row["target_max"] and row.get("audit_ok", True)
    if "target_absolute" in row:
        return row["measured"] >= row["target_absolute"]
    return row.get("audit_ok", True)


def target_text(row: dict) -> str:
    if "target" in row:
        return f"ratio ≥ {row['target']:g}"
    if "target_max" in row:
        return f"ratio ≤ {row['target_max']:g}"
    if "target_absolute" in row:
        return f"≥ {row['target_absolute']:,} {row['unit']}"
    return "—"


async def main(size: str) -> list[dict]:
    from bench import audit, month, store, temporal, timers

    console = Console(width=None if sys.stdout.isatty() else 170)
    sizes = SIZES[size]
    city = load_city(DEFAULT_CITY_DIR)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="rectify-bench-") as scratch, EmbeddedPostgres(Path(scratch) / "pg") as pg:
        with console.status("event store: Rectify vs eventsourcing vs raw asyncpg …"):
            rows += await store.run(pg, city, sizes["cases"])
        with console.status(f"audit verify and rebuild over {sizes['days']} days × {sizes['per_day']} reports …"):
            rows += await audit.run(pg, city, sizes["days"], sizes["per_day"], Path(scratch))
        with console.status("intake and command latency vs raw Temporal on the dev server …"):
            rows += await temporal.run(pg, sizes["intake"])
        with console.status(f"burst: {sizes['burst']} reports as fast as the client allows …"):
            rows += await temporal.burst(pg, sizes["burst"])
        with console.status(f"timers: {sizes['timers']} live cases on the dev server, in real time (minutes) …"):
            rows += await timers.run(pg, sizes["timers"])
        with console.status(f"{sizes['month']} days at 2,000 reports a day through the direct engine …"):
            rows += await month.run(pg, city, sizes["month"], 2000, Path(scratch))
    for row in rows:
        row["met"] = verdict(row)
    table = Table(title=f"Rectify benchmarks ({size})")
    for column in ("benchmark", "Rectify", "baseline", "ratio", "target", "met", "note"):
        table.add_column(column, justify="left" if column in ("benchmark", "baseline") else "right")
    for r in rows:
        table.add_row(r["benchmark"], f"{r['measured']:,.1f} {r['unit']}",
                      f"{r['baseline']:,.1f} ({r['baseline_name']})", f"{r['ratio']:.2f}", target_text(r),
                      "[green]yes[/green]" if r["met"] else "[red]no[/red]", r.get("note", ""))  # fmt: skip
    console.print(table)
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    (HERE / "results.json").write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "size": size,
                                                   "machine": machine, "results": rows}, indent=2) + "\n")  # fmt: skip
    return rows


if __name__ == "__main__":
    chosen = "quick" if "--quick" in sys.argv else "full" if "--full" in sys.argv else "default"
    status = 0
    try:
        asyncio.run(main(chosen))
    except KeyboardInterrupt:
        status = 130
    sys.stdout.flush()
    os._exit(status)
