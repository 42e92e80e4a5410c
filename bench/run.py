"""`make bench`: every figure as a ratio against the strongest baseline measured in the same run, with its target.

    .venv/bin/python -m bench.run [--quick | --redo-failed]
        [--only store,audit,temporal,burst,timers,month,notify,web,web_filing,points]
        [--timer-sizes 250,500,1000,2000] [--timer-workers 1,2] [--timer-window S]
        [--set audit_days=12 --set minute_s=20 ...]

A run of every benchmark is recorded in bench/results.json (its size, the commit, the machine); an `--only` run
in bench/results-partial.json, so it never replaces a complete one. `--redo-failed` measures again the benchmarks
that stopped with an error in the recorded complete run and adds their rows to it, listed as a rerun with its own
time, commit and settings. `python -m bench.report` then writes
docs/performance.md and its timer curve from results.json. Embedded PostgreSQL and the Temporal dev servers are
started here and stopped at the end, as everywhere else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import interrupt, results
from rectify import logs
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres

#: How big each benchmark runs. The default is the issue's: a million events for the audit, 2,000 live cases for
#: the timers (about an hour and a half in all, most of it the timer curve in real time).
SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        "store_cases": 300,
        "audit_days": 4,
        "audit_per_day": 500,
        "intake": 100,
        "claims": 20,
        "burst": 300,
        "timer_sizes": [50, 100],
        "timer_workers": [1, 2],
        "minute_s": 10,
        "month_days": 8,
        "month_per_day": 500,
        "notices": 300,
        "web_days": 2,
        "web_per_day": 300,
        "web_rounds": 20,
        "web_filing": 100,
        "points": 200,
        "point_weeks": 52,
        "map_reps": 10,
        "round_reps": 1,
    },
    "default": {
        "store_cases": 1500,
        "audit_days": 45,
        "audit_per_day": 2000,
        "intake": 500,
        "claims": 100,
        "burst": 2000,
        "timer_sizes": [250, 500, 1000, 2000],
        "timer_workers": [1, 2],
        "minute_s": 60,
        "month_days": 14,
        "month_per_day": 2000,
        "notices": 1000,
        "web_days": 25,
        "web_per_day": 4000,
        "web_rounds": 200,
        "web_filing": 400,
        "points": 5000,
        "point_weeks": 52,
        "map_reps": 40,
        "round_reps": 5,
    },
}
BENCHMARKS = ("store", "audit", "temporal", "burst", "timers", "month", "notify", "web", "web_filing", "points")


async def main(size: str, only: set[str] | None, settings: dict[str, Any], redo: bool = False) -> Path:
    from bench import audit, month, notify, points, store, temporal, timers, web, web_filing

    logs.configure(logging.WARNING)
    console = Console(width=None if sys.stdout.isatty() else 170)
    s = settings
    city = load_city(DEFAULT_CITY_DIR)
    rows: list[dict] = []
    curves: dict[str, Any] = {}
    started, load = datetime.now(UTC), {"before": results.load_average()}

    async def timed(job: Awaitable[list[dict]]) -> list[dict]:
        """The benchmark's rows, each noting how long its benchmark took in all (baselines included)."""
        begun = time.perf_counter()
        done = await job
        for r in done:
            r["took_s"] = round(time.perf_counter() - begun)
        return done

    async def timers_rows() -> list[dict]:
        begun = time.perf_counter()
        timer_rows, curves["timers"] = await timers.run(
            pg, s["timer_sizes"], s["timer_workers"], s.get("timer_window"), s["minute_s"]
        )
        curves["timers"]["took_s"] = round(time.perf_counter() - begun)
        return [dict(r, took_s=curves["timers"]["took_s"]) for r in timer_rows]

    failed: dict[str, str] = {}
    # fsync off: a scratch server that every side of each ratio shares.
    with (
        tempfile.TemporaryDirectory(prefix="rectify-bench-") as scratch,
        EmbeddedPostgres(Path(scratch) / "pg", fsync=False) as pg,
    ):
        jobs: dict[str, tuple[str, Callable[[], Awaitable[list[dict]]]]] = {
            "store": (
                "store appends: Rectify, eventsourcing, the same-work limit …",
                lambda: timed(store.run(pg, city, s["store_cases"])),
            ),
            "audit": (
                f"audit: {s['audit_days']} days × {s['audit_per_day']} reports, verify, rebuild …",
                lambda: timed(audit.run(pg, city, s["audit_days"], s["audit_per_day"], Path(scratch))),
            ),
            "temporal": (
                "intake and claim latency against raw Temporal …",
                lambda: timed(temporal.run(pg, s["intake"], claim_count=s["claims"])),
            ),
            "burst": (f"burst: {s['burst']} reports, 64 at a time …", lambda: timed(temporal.burst(pg, s["burst"]))),
            "timers": (
                f"timers: {s['timer_sizes']} live cases on {s['timer_workers']} workers, real time …",
                timers_rows,
            ),
            "month": (
                f"{s['month_days']} days × {s['month_per_day']} reports, direct engine …",
                lambda: timed(month.run(pg, city, s["month_days"], s["month_per_day"], Path(scratch))),
            ),
            "notify": (
                f"notices: {s['notices']} to a local webhook vs a bare httpx loop …",
                lambda: timed(notify.run(pg, city, s["notices"])),
            ),
            "web": (
                f"pages: {s['web_days'] * s['web_per_day']:,} reports (direct engine), each page against its queries …",
                lambda: timed(web.run(pg, city, s["web_days"], s["web_per_day"], Path(scratch), s["web_rounds"])),
            ),
            "web_filing": (
                f"filing: {s['web_filing']} reports by the web form, as many by Open311 …",
                lambda: timed(web_filing.run(pg, s["web_filing"])),
            ),
            "points": (
                f"points: the battle map of {s['points']} points vs its bare query, a round of 20 …",
                lambda: timed(points.run(pg, city, s["points"], s["point_weeks"], s["map_reps"], s["round_reps"])),
            ),
        }
        rows += await run_each(
            {name: jobs[name] for name in BENCHMARKS if only is None or name in only}, console, failed
        )
    load["after"] = results.load_average()
    if redo:
        assert only is not None
        path = results.complete(rows, redone=only, started=started, load=load, curves=curves, settings=s, failed=failed)
    else:
        path = results.record(
            rows, size=size, only=only, started=started, load=load, curves=curves, settings=s, failed=failed
        )
    console.print(table(rows, size))
    console.print(f"recorded in {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return path


async def run_each(
    jobs: dict[str, tuple[str, Callable[[], Awaitable[list[dict]]]]], console: Console, failed: dict[str, str]
) -> list[dict]:
    """Each benchmark's rows in turn. One that fails is named in `failed` and the others still run; but after a
    Ctrl-C none does, even where a library turned the cancel into an error of its own (the Temporal SDK raises
    WorkflowUpdateRPCTimeoutOrCancelledError for a cancelled update)."""
    rows: list[dict] = []
    for name, (status, job) in jobs.items():
        interrupt.raise_if_interrupted()
        with console.status(status):
            try:
                rows += await job()
            except Exception as error:
                interrupt.raise_if_interrupted()
                failed[name] = f"{type(error).__name__}: {error}"
                console.print(f"[red]{name} failed[/red]: {failed[name]}")
    return rows


def table(rows: list[dict], size: str) -> Table:
    out = Table(title=f"Rectify benchmarks ({size})")
    for column in ("figure", "size", "Rectify", "baseline", "ratio", "target", "met"):
        out.add_column(column, justify="left" if column in ("figure", "size", "baseline") else "right")
    for r in rows:
        base = r["baseline"]
        out.add_row(
            r["name"],
            r["size"]["text"],
            "—" if r["value"] is None else f"{r['value']:,.2f} {r['unit']}",
            "—" if base is None or base["value"] is None else f"{base['value']:,.2f} ({base['name']})",
            "—" if r["ratio"] is None else f"{r['ratio']:.2f}",
            r["target"]["text"] if r["target"] else "—",
            {True: "[green]yes[/green]", False: "[red]no[/red]", None: "—"}[r["met"]],
        )
    return out


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of whole numbers, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"a comma-separated list of numbers of 1 or more, not {text!r}")
    return values


def parse(argv: list[str]) -> tuple[str, set[str] | None, dict[str, Any], bool]:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness (minutes)")
    parser.add_argument("--only", help=f"comma-separated: {','.join(BENCHMARKS)} (recorded in results-partial.json)")
    parser.add_argument(
        "--redo-failed",
        action="store_true",
        help="measure again the benchmarks that failed in bench/results.json, at its sizes, and add their rows to it",
    )
    parser.add_argument("--timer-sizes", type=_ints, help="live cases at each point of the timer curve")
    parser.add_argument("--timer-workers", type=_ints, help="worker processes at each size (e.g. 1,2)")
    parser.add_argument("--timer-window", type=float, help="seconds over which each point's reports are paced")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=N",
        help=f"another size for one setting ({', '.join(sorted(SIZES['default']))}); the run is then labelled custom",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only is not None and (unknown := only - set(BENCHMARKS)):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    if args.timer_window is not None and args.timer_window <= 0:
        parser.error("--timer-window must be more than 0 seconds")
    size = "quick" if args.quick else "default"
    settings = dict(SIZES[size])
    if args.redo_failed:
        if args.quick or only is not None:
            parser.error("--redo-failed takes the benchmarks and sizes of the recorded run: no --quick or --only")
        try:
            recorded = results.failed_in_record()
        except ValueError as error:
            parser.error(str(error))
        if not recorded.get("failed"):
            parser.error(f"{results.RESULTS}: every benchmark of the recorded run has its rows; nothing to redo")
        only, size, settings = set(recorded["failed"]), recorded["size"], dict(recorded["settings"])
    for key in ("timer_sizes", "timer_workers", "timer_window"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in settings or isinstance(settings[key], list):
            parser.error(f"--set {item}: the settings that take one number are {', '.join(_scalars(settings))}")
        try:
            settings[key] = int(value) if isinstance(settings[key], int) else float(value)
        except ValueError:
            parser.error(f"--set {item}: {value!r} is not a number")
        if settings[key] <= 0:
            parser.error(f"--set {item}: must be more than 0")
    if args.redo_failed:
        return size, only, settings, True  # the recorded run's label; its rerun's own settings are kept with it
    if settings != SIZES[size]:
        size = "custom"  # sizes other than the named ones: the page says so, and which (the run's settings)
    return size, only, settings, False


def _scalars(settings: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in settings.items() if not isinstance(v, list))


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the run as Ctrl-C does (asyncio.run cancels the run on SIGINT): every server it started stops."""
    signal.raise_signal(signal.SIGINT)


if __name__ == "__main__":
    chosen, only, settings, redo = parse(sys.argv[1:])
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        recorded = asyncio.run(main(chosen, only, settings, redo))
        if json.loads(recorded.read_text()).get("failed"):
            status = 1  # recorded, with the benchmarks that stopped named in it
    except KeyboardInterrupt:
        status = 130
    except Exception as error:  # a benchmark failed, or Ctrl-C cancelled a call mid-flight
        print(f"bench stopped: {type(error).__name__}: {error}", file=sys.stderr)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
