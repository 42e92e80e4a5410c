"""`make bench`: every benchmark as a ratio against a baseline measured in the same run, with its target.

    .venv/bin/python -m bench.run [--quick | --full] [--only store,audit,temporal,burst,timers,month,notify]

Prints the table and writes bench/results.json. Embedded PostgreSQL and the Temporal dev server are
started here and stopped at the end, as everywhere else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres

HERE = Path(__file__).parent
#: How big each benchmark runs at each size (cases, simulated days and reports a day, reports, live cases).
SIZES = {
    "quick": {
        "cases": 400,
        "days": 5,
        "per_day": 500,
        "intake": 150,
        "burst": 300,
        "month": 8,
        "timers": 100,
        "window": 60,
        "notices": 300,
    },
    "default": {
        "cases": 1500,
        "days": 20,
        "per_day": 2000,
        "intake": 300,
        "burst": 2000,
        "month": 14,
        "timers": 1000,
        "window": 300,
        "notices": 1000,
    },
    "full": {
        "cases": 5000,
        "days": 40,
        "per_day": 2500,
        "intake": 1000,
        "burst": 2000,
        "month": 30,
        "timers": 10000,
        "window": 600,
        "workers": 2,
        "notices": 3000,
    },
}


BENCHMARKS = ("store", "audit", "temporal", "burst", "timers", "month", "notify")


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


async def main(size: str, only: set[str] | None = None) -> list[dict]:
    from bench import audit, month, notify, store, temporal, timers

    console = Console(width=None if sys.stdout.isatty() else 170)
    sizes = SIZES[size]
    city = load_city(DEFAULT_CITY_DIR)
    rows: list[dict] = []

    async def timed(job: Awaitable[list[dict]]) -> list[dict]:
        """The benchmark's rows, each noting how long its benchmark took in all (baselines included)."""
        started = time.perf_counter()
        done = await job
        for row in done:
            row["took_s"] = round(time.perf_counter() - started)
        return done

    # fsync off, as before: a scratch server that every side of each ratio shares.
    with (
        tempfile.TemporaryDirectory(prefix="rectify-bench-") as scratch,
        EmbeddedPostgres(Path(scratch) / "pg", fsync=False) as pg,
    ):
        wanted = only or set(BENCHMARKS)
        if "store" in wanted:
            with console.status("event store: Rectify vs eventsourcing vs raw asyncpg …"):
                rows += await timed(store.run(pg, city, sizes["cases"]))
        if "audit" in wanted:
            with console.status(f"audit verify and rebuild over {sizes['days']} days × {sizes['per_day']} reports …"):
                rows += await timed(audit.run(pg, city, sizes["days"], sizes["per_day"], Path(scratch)))
        if "temporal" in wanted:
            with console.status("intake and command latency vs raw Temporal on the dev server …"):
                rows += await timed(temporal.run(pg, sizes["intake"]))
        if "burst" in wanted:
            with console.status(f"burst: {sizes['burst']} reports as fast as the client allows …"):
                rows += await timed(temporal.burst(pg, sizes["burst"]))
        if "timers" in wanted:
            minutes = sizes["window"] // 60
            with console.status(f"timers: {sizes['timers']} live cases over {minutes} min, in real time …"):
                rows += await timed(timers.run(pg, sizes["timers"], sizes["window"], sizes.get("workers", 1)))
        if "month" in wanted:
            with console.status(f"{sizes['month']} days at 2,000 reports a day through the direct engine …"):
                rows += await timed(month.run(pg, city, sizes["month"], 2000, Path(scratch)))
        if "notify" in wanted:
            with console.status(f"notices: {sizes['notices']} to a local webhook vs a bare httpx loop …"):
                rows += await timed(notify.run(pg, city, sizes["notices"]))
    for row in rows:
        row["met"] = verdict(row)
    table = Table(title=f"Rectify benchmarks ({size})")
    for column in ("benchmark", "Rectify", "baseline", "ratio", "target", "met", "note"):
        table.add_column(column, justify="left" if column in ("benchmark", "baseline") else "right")
    for r in rows:
        table.add_row(
            r["benchmark"],
            f"{r['measured']:,.1f} {r['unit']}",
            f"{r['baseline']:,.1f} ({r['baseline_name']})",
            f"{r['ratio']:.2f}",
            target_text(r),
            "[green]yes[/green]" if r["met"] else "[red]no[/red]",
            r.get("note", ""),
        )
    console.print(table)
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    if only:  # a partial run is printed, not recorded over the full table
        return rows
    (HERE / "results.json").write_text(
        json.dumps({"when": datetime.now(UTC).isoformat(), "size": size, "machine": machine, "results": rows}, indent=2)
        + "\n"
    )
    return rows


def _parse(argv: list[str]) -> tuple[str, set[str] | None]:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=(__doc__ or "").split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    group.add_argument("--full", action="store_true", help="the issue's sizes (10,000 live cases, 1M events)")
    parser.add_argument("--only", help=f"comma-separated: {','.join(BENCHMARKS)} (not recorded in results.json)")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only and (unknown := only - set(BENCHMARKS)):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    return ("quick" if args.quick else "full" if args.full else "default"), only


if __name__ == "__main__":
    chosen, only = _parse(sys.argv[1:])
    status = 0
    try:
        asyncio.run(main(chosen, only))
    except KeyboardInterrupt:
        status = 130
    except Exception as error:  # a benchmark failed, or Ctrl-C cancelled a call mid-flight
        print(f"bench stopped: {type(error).__name__}: {error}", file=sys.stderr)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
