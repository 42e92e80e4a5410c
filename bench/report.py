"""`python -m bench.report`: docs/performance.md and its timer curve, written from bench/results.json.

    .venv/bin/python -m bench.report [--results bench/results.json] [--out docs/performance.md]

Nothing in docs/performance.md is written by hand. The page is bench/templates/performance.md.j2 filled in
with the run's figures; each figure that missed its target (or could not be measured) gets the section kept
in bench/notes/<row id>.md, which says what limits it. A missed figure without a note is named on the page
and by this command (exit status 1), so a note is never silently missing; a note whose figure is met is
reported as stale and left out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jinja2

from bench.results import RESULTS, SCHEMA, check
from bench.run import SIZES

HERE = Path(__file__).parent
ROOT = HERE.parent
NOTES = HERE / "notes"
TEMPLATE = "performance.md.j2"
OUT = ROOT / "docs" / "performance.md"
CURVE = "performance-timers.png"
DEFAULT_SIZES = SIZES["default"]

#: The issue's target table (issue 19), row by row, and the figures that answer each.
TARGETS: list[tuple[str, str, list[str]]] = [
    (
        "store appends vs eventsourcing at its fastest, 1 and 8 writers",
        "≥ 2× at both",
        ["store.eventsourcing.w1", "store.eventsourcing.w8"],
    ),
    ("store appends vs the same-work asyncpg limit, 1 and 8 writers", "≥ 0.8×", ["store.limit.w1", "store.limit.w8"]),
    ("audit verify, full, over 1M events", "≥ 0.8× the bare scan + JSON decode", ["audit.verify"]),
    ("read-model rebuild over 1M events", "≥ 0.5× the bare scan", ["audit.rebuild"]),
    (
        "incremental verify after a day of 2,000 reports on a 1M-event store",
        "≤ 2× the time to scan that day's events alone",
        ["audit.incremental"],
    ),
    ("claim p50, median of 5", "≤ 1.5× raw update", ["temporal.claim_p50"]),
    ("claim p99", "≤ 2× raw update", ["temporal.claim_p99"]),
    ("intake and burst vs raw on the same activity kind", "≥ 0.8×", ["temporal.intake", "temporal.burst"]),
    ("timer lateness p99 at 2,000 live cases on two workers", "≤ 1.5× raw + 1 s", ["timers.p99"]),
    # Issues 16 and 17: each page through the real app against the read-model queries behind it, at 100,000 cases.
    (
        "staff and public pages p95 at 100,000 cases",
        "≤ 3× its queries",
        [f"web.{page}.p95" for page in ("queue", "queue_filtered", "map", "case", "public_map", "public_list")],
    ),
    ("the office map's data for the whole district", "< 1 MB", ["web.map.map_bytes", "web.map.map_gzip_bytes"]),
]


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 0.1 else 3
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()


def short(r: dict[str, Any]) -> bool:
    """A figure not judged at this run's size (its target is set at a larger one) that misses the bound anyway."""
    target, value = r["target"], r["value"]
    if r["met"] is not None or target is None or value is None or target.get("bound") is None:
        return False
    return value < target["bound"] if target["op"] == ">=" else value > target["bound"]


def verdict(r: dict[str, Any] | None) -> str:
    if r is None:
        return "not in this run"
    if r["met"] is True:
        return "met"
    if r["met"] is False:
        return "**missed**"
    if r["target"] is None:
        return "—"
    if short(r):
        return "not judged (**short** at this size)"
    return "not judged" if r["value"] is not None else "not measured"


def figure(r: dict[str, Any]) -> dict[str, str]:
    base = r["baseline"]
    return {
        "id": r["id"],
        "name": r["name"],
        "size": r["size"]["text"] + (f" (rerun {r['rerun']})" if "rerun" in r else ""),
        "value": number(r["value"], r["unit"]),
        "baseline": "—" if base is None else f"{number(base['value'], r['unit'])} ({base['name']})",
        "ratio": "—" if r["ratio"] is None else f"{r['ratio']:.2f}×",
        "target": "—" if r["target"] is None else r["target"]["text"],
        "bound": "" if not r["target"] or r["target"].get("bound") is None else number(r["target"]["bound"], r["unit"]),
        "verdict": verdict(r),
        "why": r.get("unjudged", ""),
        "note": r.get("note", ""),
        "audit": "" if "audit_ok" not in r else ("passed" if r["audit_ok"] else "FAILED"),
    }


def plot(curve: dict[str, Any], path: Path) -> None:
    """Rung lateness p50 and p99 against live cases: Rectify on each worker count, and raw."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    points = curve["points"]
    sizes = sorted({p["cases"] for p in points})
    raw = {p["cases"]: p["raw"] for p in points}
    figure_, axes = pyplot.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for axis, q in zip(axes, ("p50", "p99"), strict=True):
        for workers in sorted({p["workers"] for p in points}):
            mine = sorted((p["cases"], p["rectify"][q]) for p in points if p["workers"] == workers)
            label = f"Rectify, {workers} worker process{'es' if workers > 1 else ''}"
            axis.plot([x for x, _ in mine], [y for _, y in mine], marker="o", label=label)
        axis.plot(sizes, [raw[n][q] for n in sizes], marker="s", color="grey", label="raw sleeping workflows")
        if q == "p99":
            bound = [1.5 * raw[n]["p99"] + 1 for n in sizes]
            axis.plot(sizes, bound, linestyle="--", color="black", label="target: 1.5 × raw + 1 s")
        axis.set_title(f"rung lateness {q}")
        axis.set_xlabel("live cases (paced over one case's life)")
        axis.set_ylabel("seconds late")
        axis.set_yscale("symlog", linthresh=0.01)  # log above 10 ms, so a knee of minutes and 20 ms both show
        axis.set_xscale("log", base=2)
        axis.set_xticks(sizes, [f"{n:,}" for n in sizes])
        axis.minorticks_off()
        axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:g}"))
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure_.tight_layout()
    figure_.savefig(path, dpi=110)
    pyplot.close(figure_)


def knees(curve: dict[str, Any]) -> list[dict[str, Any]]:
    """Per worker count, where the curve leaves the target (p99 ≤ 1.5 × raw p99 + 1 s, every timed event fired):
    the largest size within it below the first size beyond it, read from the run's points."""
    out = []
    for workers in sorted({p["workers"] for p in curve["points"]}):
        mine = sorted((p for p in curve["points"] if p["workers"] == workers), key=lambda p: p["cases"])
        within, beyond = None, None
        for p in mine:
            bound = 1.5 * p["raw"]["p99"] + 1
            if p["rectify"]["p99"] <= bound and not p["rectify"]["unfired"]:
                within = p["cases"] if beyond is None else within
            elif beyond is None:
                beyond = {"cases": p["cases"], "p99": p["rectify"]["p99"], "bound": bound}
        out.append({"workers": workers, "within": within, "beyond": beyond})
    return out


def notes_for(rows: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """The notes to include (missed or unmeasured figures), the figures lacking one, the notes gone stale."""
    wanted = [r for r in rows if r["met"] is False or (r["target"] and r["value"] is None) or short(r)]
    included, lacking = [], []
    for r in wanted:
        path = NOTES / f"{r['id']}.md"
        if path.exists():
            included.append({"id": r["id"], "name": r["name"], "verdict": verdict(r), "text": path.read_text().strip()})
        else:
            lacking.append(r["id"])
    wanted_ids = {r["id"] for r in wanted}
    stale = sorted(p.stem for p in NOTES.glob("*.md") if p.stem not in wanted_ids and p.stem != "README")
    return included, lacking, stale


def render(document: dict[str, Any], out: Path) -> tuple[str, list[str], list[str]]:
    if document.get("schema") != SCHEMA:
        raise ValueError(f"results schema {document.get('schema')}, this report reads {SCHEMA}: run `make bench`")
    rows = document["rows"]
    for r in rows:
        check(r)
    by_id = {r["id"]: r for r in rows}
    curve = document.get("curves", {}).get("timers")
    if curve and curve["points"]:
        plot(curve, out.parent / CURVE)
    included, lacking, stale = notes_for(rows)
    targets = [
        {
            "figure": name,
            "target": target,
            "answers": [
                {
                    "id": i,
                    "ratio": "—" if i not in by_id or by_id[i]["ratio"] is None else f"{by_id[i]['ratio']:.2f}×",
                    "verdict": verdict(by_id.get(i)),
                }
                for i in ids
            ],
        }
        for name, target, ids in TARGETS
    ]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["number"] = number
    text = environment.get_template(TEMPLATE).render(
        run=document,
        figures=[figure(r) for r in rows],
        targets=targets,
        curve=curve,
        knees=knees(curve) if curve and curve["points"] else [],
        curve_file=CURVE if curve and curve["points"] else None,
        claims=by_id.get("temporal.claim_p50", {}).get("details", {}).get("repetitions"),
        changed=[(k, v) for k, v in document.get("settings", {}).items() if DEFAULT_SIZES.get(k) != v],
        notes=included,
        lacking=lacking,
    )
    out.write_text(text)
    return text, lacking, stale


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT, help="the page to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.results.read_text())
    except (OSError, ValueError) as error:
        print(f"bench.report: {args.results}: {error}", file=sys.stderr)
        return 2
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        _, lacking, stale = render(document, args.out)
    except OSError as error:
        print(f"bench.report: cannot write {args.out}: {error}", file=sys.stderr)
        return 2
    except (ValueError, KeyError) as error:
        print(f"bench.report: {args.results}: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    for name in stale:
        print(f"note bench/notes/{name}.md is stale: its figure is met or not in this run (left out)")
    for name in lacking:
        print(f"figure {name} missed its target and has no note: write bench/notes/{name}.md", file=sys.stderr)
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
