"""The results file: one row per figure, each with its size, its baseline, its target (or none) and a `met`
computed from them, never written by hand.

A target bounds the figure by its baseline: `value >= times × baseline + plus` (a rate at least some share of
the baseline's) or `value <= times × baseline + plus` (a latency at most some multiple of the baseline's, plus
an allowance). A target may be set at a size (a million events, 2,000 live cases): a run below that size is
recorded but not judged (`met` is null, and `unjudged` says why). A row with an audit (`audit_ok`) is only met
if the audit passed. A row without a target has `met: null`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).parent
#: A complete run (every benchmark, at whatever size it was asked for) is recorded here ...
RESULTS = HERE / "results.json"
#: ... and a run of some benchmarks only (`--only`) here, so it never overwrites a complete run.
PARTIAL = HERE / "results-partial.json"
SCHEMA = 2
ROW_KEYS = {"id", "group", "name", "size", "unit", "better", "value", "baseline", "ratio", "target", "met"}
OPTIONAL_KEYS = {"unjudged", "audit_ok", "note", "details", "took_s", "missing", "rerun"}


@dataclass(frozen=True)
class Target:
    """`value op times × baseline + plus`, as the issue writes it (`text`); judged only at `size` or above."""

    op: str  # ">=" or "<="
    times: float
    text: str
    plus: float = 0.0
    #: The smallest size (in the row's size unit) at which the target is set; None: any size.
    size: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "times": self.times, "plus": self.plus, "text": self.text, "size": self.size}


def row(
    id: str,
    group: str,
    name: str,
    *,
    size: float,
    size_unit: str,
    size_text: str,
    unit: str,
    better: str,
    value: float | None,
    baseline_name: str | None,
    baseline: float | None,
    target: Target | None = None,
    missing: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One figure, judged. `missing` says why `value` (or the baseline) could not be measured."""
    if better not in ("higher", "lower"):
        raise ValueError(f"{id}: better must be 'higher' or 'lower', not {better!r}")
    out: dict[str, Any] = {
        "id": id,
        "group": group,
        "name": name,
        "size": {"value": size, "unit": size_unit, "text": size_text},
        "unit": unit,
        "better": better,
        "value": value,
        "baseline": None if baseline_name is None else {"name": baseline_name, "value": baseline},
        "ratio": None,
        "target": None if target is None else target.as_dict(),
        "met": None,
    }
    if missing:
        out["missing"] = missing
    out.update({k: v for k, v in extra.items() if v is not None})
    return judge(out)


def judge(r: dict[str, Any]) -> dict[str, Any]:
    """Fill in `ratio`, the target's `bound` and `met` from the row's own figures (and nothing else)."""
    value = r["value"]
    base = r["baseline"]["value"] if r["baseline"] else None
    r["ratio"] = value / base if value is not None and base else None
    r.pop("unjudged", None)
    r["met"] = None
    target = r["target"]
    if target is None:
        return r
    if value is None or base is None:
        target["bound"] = None
        r["unjudged"] = r.get("missing") or "no figure was measured"
        return r
    target["bound"] = target["times"] * base + target["plus"]
    if target["size"] is not None and r["size"]["value"] < target["size"]:
        r["unjudged"] = (
            f"run at {r['size']['text']}; the target is set at {target['size']:,.0f} {r['size']['unit']} or more"
        )
        return r
    within = value >= target["bound"] if target["op"] == ">=" else value <= target["bound"]
    r["met"] = bool(within and r.get("audit_ok", True))
    return r


def check(r: dict[str, Any]) -> None:
    """Raise ValueError if the row breaks the schema, or its `met` is not what its own figures give."""
    keys = set(r)
    if missing := ROW_KEYS - keys:
        raise ValueError(f"{r.get('id')}: missing {sorted(missing)}")
    if extra := keys - ROW_KEYS - OPTIONAL_KEYS:
        raise ValueError(f"{r['id']}: unknown keys {sorted(extra)}")
    if r["target"] is None and r["met"] is not None:
        raise ValueError(f"{r['id']}: met without a target")
    if r["value"] is None and "missing" not in r:
        raise ValueError(f"{r['id']}: no value and no reason why")
    again = judge(json.loads(json.dumps(r)))
    if again["met"] != r["met"] or again["ratio"] != r["ratio"]:
        raise ValueError(f"{r['id']}: met {r['met']} / ratio {r['ratio']} do not follow from the figures")


def machine() -> dict[str, Any]:
    memory = psutil.virtual_memory().total
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": round(memory / 2**30, 1),
        "processor": platform.processor() or platform.machine(),
    }


def git_commit() -> dict[str, Any]:
    """The commit the figures were measured on, and whether the tree had changes beyond it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "subject": git("log", "-1", "--format=%s") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def record(
    rows: Iterable[dict[str, Any]],
    *,
    size: str,
    only: set[str] | None,
    started: datetime,
    load: dict[str, Any],
    curves: dict[str, Any],
    settings: dict[str, Any],
    failed: dict[str, str] | None = None,
) -> Path:
    """Write the run: results.json for a complete run, results-partial.json for an `--only` run."""
    rows = _checked(rows)
    path = PARTIAL if only else RESULTS
    document = {
        "schema": SCHEMA,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size,
        "only": sorted(only) if only else None,
        "git": git_commit(),
        "machine": machine(),
        "load": load,
        "settings": settings,
        "rows": rows,
        "curves": curves,
        #: Benchmarks that stopped with an error (their rows are absent), by name: the error.
        "failed": failed or {},
    }
    return _write(path, document)


def _checked(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = list(rows)
    for r in rows:
        check(r)
    return rows


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def failed_in_record() -> dict[str, Any]:
    """The complete run on record (results.json), to measure again the benchmarks it lost (`--redo-failed`)."""
    try:
        document = json.loads(RESULTS.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{RESULTS}: no complete run to complete ({error})") from None
    if document.get("only"):
        raise ValueError(f"{RESULTS}: holds an --only run, not a complete one")
    return document


def complete(
    rows: Iterable[dict[str, Any]],
    *,
    redone: set[str],
    started: datetime,
    load: dict[str, Any],
    curves: dict[str, Any],
    settings: dict[str, Any],
    failed: dict[str, str] | None = None,
) -> Path:
    """Add the rows of benchmarks measured again to the complete run that lost them (results.json). The run keeps
    its own time, commit and settings; each rerun is listed under `reruns` with its own, and its rows carry
    `rerun` (its index there), so the page says which figures were measured when, on which code."""
    rows = _checked(rows)
    document = failed_in_record()
    if unknown := redone - set(document.get("failed") or {}):
        raise ValueError(f"{RESULTS}: {', '.join(sorted(unknown))} did not fail in the recorded run")
    reruns = document.setdefault("reruns", [])
    reruns.append(
        {
            "benchmarks": sorted(redone),
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": git_commit(),
            "load": load,
            "settings": settings,
            "failed_before": {k: document["failed"][k] for k in sorted(redone)},
        }
    )
    document["rows"] += [dict(r, rerun=len(reruns) - 1) for r in rows]
    document["curves"] = {**document.get("curves", {}), **curves}
    document["failed"] = {k: v for k, v in document["failed"].items() if k not in redone} | (failed or {})
    return _write(RESULTS, document)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
