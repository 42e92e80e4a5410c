"""督查通报 第N期: the weekly supervision bulletin, as Markdown, HTML, CSV and a PNG chart.

A week's number is given once and kept (the `bulletins` table); so is the audit checkpoint it prints.
Nothing in the files depends on when they were rendered, so regenerating a week gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime
from pathlib import Path

from rectify.bulletins import ranking
from rectify.bulletins.rendering import templates
from rectify.domain.bulletin import Bulletin
from rectify.domain.periods import week
from rectify.domain.policy import Policy
from rectify.store import EventStore
from rectify.store.bulletins import bulletin_number, rungs_reached

_ENV = templates("rectify.bulletins")


async def _rungs(store: EventStore, policy: Policy, start: datetime, end: datetime, level: int) -> list[dict]:
    """Every rung of `level` reached in the week, with where the case is and its photo's hash."""
    rows = await rungs_reached(store.pool, start, end, level)
    out = []
    for r in rows:
        report, rung = r["report"], r["rung"]
        unit = policy.units.get(rung["unit"])
        location = report.get("location") or {}
        evidence = report.get("evidence") or []
        out.append(
            {
                "case_id": r["case_id"],
                "unit": rung["unit"],
                "unit_name": unit.name if unit else rung["unit"],
                "category": policy.categories[r["category"]].name
                if r["category"] in policy.categories
                else r["category"],
                "place": report.get("address") or f"{location.get('lon', 0):.5f}, {location.get('lat', 0):.5f}",
                "grid": r["grid_id"] or "—",
                "evidence": evidence[0]["sha256"] if evidence else None,
                "due_at": rung["due_at"],
                "points": rung.get("points", 0),
                "responsible_role": rung.get("responsible_role"),
            }
        )
    return out


def _csv(ranked: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [
        "place",
        "unit",
        "name",
        "score",
        "received",
        "closed",
        "closed_on_time",
        "on_time_rate",
        "closure_rate",
        "dispute_rate",
        "rework_rate",
        "points",
        "open_overdue",
        "change",
    ]
    writer.writerow(["group", *columns])
    for group, rows in ranked["groups"].items():
        for row in rows:
            writer.writerow([group, *(row.get(c) if row.get(c) is not None else "" for c in columns)])
    return buffer.getvalue().encode("utf-8")


def _chart(ranked: dict, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    groups = ranked["groups"]
    fig, axes = plt.subplots(1, len(groups), figsize=(12, max(3.5, 0.3 * max(len(r) for r in groups.values()) + 1)))
    for ax, (group, rows) in zip(axes, groups.items(), strict=True):
        labels = [f"{r['place']}. {r['unit']}" for r in rows][::-1]
        scores = [r["score"] for r in rows][::-1]
        ax.barh(labels, scores, color=["tab:red" if s < 60 else "tab:blue" for s in scores])
        ax.set(title=f"{group}: weekly score", xlabel="score")
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


async def issue_bulletin(
    store: EventStore, policy: Policy, label: str, out_dir: Path, today: date | None = None
) -> Bulletin:
    """Render the week's bulletin into `out_dir`; the same week always gets the same number and bytes."""
    ranked = await ranking.weekly(store, policy, label, today)
    period = week(label, policy.timezone)
    number, checkpoint = await bulletin_number(store.pool, ranked["period"]["label"])
    context = {
        "city": policy.city,
        "number": number,
        "ranking": ranked,
        "period": ranked["period"],
        "exposures": await _rungs(store, policy, period.start, period.end, 2),
        "deductions": await _rungs(store, policy, period.start, period.end, 3),
        "referrals": await _rungs(store, policy, period.start, period.end, len(policy.ladder)),
        "rungs": {r.level: r.name for r in policy.ladder},
        "checkpoint": checkpoint,
    }
    stem = f"bulletin-{ranked['period']['label']}-{number:03d}"
    files = {
        f"{stem}.md": _ENV.get_template("bulletin.md.j2").render(**context).encode("utf-8"),
        f"{stem}.html": _ENV.get_template("bulletin.html.j2").render(**context, chart=f"{stem}.png").encode("utf-8"),
        f"{stem}.csv": _csv(ranked),
        f"{stem}.png": _chart(ranked, f"Bulletin {number} - {ranked['period']['label']}"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    root = checkpoint.root if checkpoint else None
    return Bulletin(week=ranked["period"]["label"], number=number, checkpoint_root=root, files=digests)
