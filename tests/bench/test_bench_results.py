"""The benchmark harness's bookkeeping: each row's `met` follows from its own figures, the results file says
which run it holds, and the performance page is written from it. No server starts and nothing is timed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import report, results
from bench.results import Target, check, judge, row


def figure(value: float | None, baseline: float | None, target: Target | None, **extra) -> dict:
    return row(
        "store.limit.w1",
        "store",
        "store appends vs the limit",
        size=1500,
        size_unit="cases",
        size_text="1,500 cases",
        unit="cases/s",
        better="higher",
        value=value,
        baseline_name="the limit",
        baseline=baseline,
        target=target,
        **extra,
    )


def test_a_rate_meets_its_target_at_or_above_the_share_of_its_baseline() -> None:
    at_least = Target(">=", 0.8, "≥ 0.8×")
    assert figure(80, 100, at_least)["met"] is True
    assert figure(79.9, 100, at_least)["met"] is False
    assert figure(80, 100, at_least)["ratio"] == pytest.approx(0.8)
    assert figure(80, 100, at_least)["target"]["bound"] == pytest.approx(80)


def test_a_latency_meets_its_target_within_the_multiple_of_its_baseline_plus_the_allowance() -> None:
    within = Target("<=", 1.5, "≤ 1.5× raw + 1 s", plus=1.0)
    assert figure(2.5, 1.0, within)["met"] is True  # bound 1.5 × 1 + 1
    assert figure(2.51, 1.0, within)["met"] is False


def test_no_target_no_met_and_a_missing_figure_is_not_judged() -> None:
    assert figure(80, 100, None)["met"] is None
    unmeasured = figure(None, 100, Target(">=", 0.8, "≥ 0.8×"), missing="not built yet")
    assert unmeasured["met"] is None and unmeasured["unjudged"] == "not built yet"
    with pytest.raises(ValueError, match="no value and no reason"):
        check(figure(None, 100, None))


def test_a_run_below_the_targets_size_is_recorded_not_judged() -> None:
    small = figure(90, 100, Target(">=", 0.8, "≥ 0.8×", size=1_000_000))
    assert small["met"] is None
    assert "1,000,000 cases" in small["unjudged"]
    assert figure(90, 100, Target(">=", 0.8, "≥ 0.8×", size=1500))["met"] is True


def test_a_failed_audit_is_never_met() -> None:
    assert figure(90, 100, Target(">=", 0.8, "≥ 0.8×"), audit_ok=False)["met"] is False
    assert figure(90, 100, Target(">=", 0.8, "≥ 0.8×"), audit_ok=True)["met"] is True
    assert "audit_ok" not in figure(90, 100, Target(">=", 0.8, "≥ 0.8×"))


def test_check_refuses_a_met_that_does_not_follow_from_the_figures() -> None:
    good = figure(70, 100, Target(">=", 0.8, "≥ 0.8×"))
    check(good)
    with pytest.raises(ValueError, match="do not follow"):
        check(dict(good, met=True))
    with pytest.raises(ValueError, match="met without a target"):
        check(dict(figure(70, 100, None), met=True))
    assert judge(dict(good, met=True))["met"] is False


def test_an_only_run_is_recorded_apart_from_the_complete_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(results, "PARTIAL", tmp_path / "results-partial.json")
    rows = [figure(90, 100, Target(">=", 0.8, "≥ 0.8×"))]
    common = {"size": "quick", "started": datetime.now(UTC), "load": {}, "curves": {}, "settings": {}}
    assert results.record(rows, only={"store"}, **common) == tmp_path / "results-partial.json"
    assert not (tmp_path / "results.json").exists()
    assert results.record(rows, only=None, **common) == tmp_path / "results.json"
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["schema"] == results.SCHEMA and written["only"] is None
    assert written["machine"]["cpus"] >= 1 and written["machine"]["memory_gib"] > 0
    assert "commit" in written["git"]


def _document(rows: list[dict]) -> dict:
    return {
        "schema": results.SCHEMA,
        "started": "2026-12-01T10:00:00+00:00",
        "finished": "2026-12-01T11:00:00+00:00",
        "size": "default",
        "only": None,
        "git": {"commit": "0" * 40, "subject": "a commit", "dirty": False},
        "machine": results.machine(),
        "load": {"before": [0.1, 0.1, 0.1], "after": [0.2, 0.1, 0.1]},
        "settings": {},
        "rows": rows,
        "curves": {
            "timers": {
                "window_s": 210,
                "minute_s": 60,
                "took_s": 100,
                "points": [
                    {
                        "cases": n,
                        "workers": w,
                        "rectify": {"p50": 0.1 * n / 250, "p99": 0.5 * n / 250, "peak_live": n, "unfired": 0}
                        | {"worker_rss_mib": 300, "audit_ok": True, "events": 6 * n},
                        "raw": {"p50": 0.02, "p99": 0.1, "peak_live": n, "unfired": 0, "events": 6 * n},
                    }
                    for n in (250, 500)
                    for w in (1, 2)
                ],
            }
        },
    }


def test_the_page_names_every_target_and_asks_for_a_note_on_a_missed_figure(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(report, "NOTES", tmp_path / "notes")
    (tmp_path / "notes").mkdir()
    missed = figure(50, 100, Target(">=", 0.8, "≥ 0.8×"))
    met = dict(figure(90, 100, Target(">=", 0.8, "≥ 0.8×")), id="store.limit.w8", name="the limit at 8")
    page, lacking, _ = report.render(_document([missed, judge(met)]), tmp_path / "performance.md")
    assert lacking == ["store.limit.w1"]
    for name, target, _ in report.TARGETS:
        assert f"| {name} | {target} |" in page
    assert "| 0.50×, 0.90× | **missed**, met |" in page
    assert "not in this run" in page  # targets whose figures this document lacks
    assert (tmp_path / report.CURVE).stat().st_size > 0

    (tmp_path / "notes" / "store.limit.w1.md").write_text("Two round trips where the limit makes one.")
    (tmp_path / "notes" / "store.limit.w8.md").write_text("Met: this note is stale.")
    page, lacking, stale = report.render(_document([missed, judge(met)]), tmp_path / "performance.md")
    assert lacking == [] and stale == ["store.limit.w8"]
    assert "Two round trips where the limit makes one." in page
    assert "this note is stale" not in page


def test_a_figure_not_judged_at_its_size_that_falls_short_anyway_gets_its_note(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(report, "NOTES", tmp_path / "notes")
    (tmp_path / "notes").mkdir()
    target = Target(">=", 0.8, "≥ 0.8×", size=1_000_000)
    short = figure(50, 100, target)  # 1,500 < 1,000,000: not judged, and 0.5× would miss
    within = dict(figure(90, 100, target), id="store.limit.w8", name="the limit at 8")
    assert short["met"] is None and report.short(short) and not report.short(judge(within))
    (tmp_path / "notes" / "store.limit.w1.md").write_text("What limits it, at any size.")
    document = _document([short, judge(within)]) | {"size": "custom", "settings": {"audit_days": 12}}
    page, lacking, stale = report.render(document, tmp_path / "performance.md")
    assert lacking == [] and stale == []
    assert "What limits it, at any size." in page
    assert "not judged (**short** at this size)" in page
    assert "`audit_days` 12" in page  # a custom run names the settings it changed


def test_the_page_says_where_the_timer_curve_leaves_its_target(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(report, "NOTES", tmp_path / "notes")
    (tmp_path / "notes").mkdir()
    document = _document([])
    points = document["curves"]["timers"]["points"]
    for n in (1000, 2000):  # p99 2 s and 4 s against 1.5 × 0.1 + 1 = 1.15 s: beyond from 1,000
        points += [
            dict(points[0], cases=n, workers=w, rectify=dict(points[0]["rectify"], p99=0.5 * n / 250)) for w in (1, 2)
        ]
    one_unfired = next(p for p in points if p["cases"] == 500 and p["workers"] == 1)
    one_unfired["rectify"] = dict(one_unfired["rectify"], unfired=3)  # a point with moments never fired is beyond
    assert report.knees(document["curves"]["timers"]) == [
        {"workers": 1, "within": 250, "beyond": {"cases": 500, "p99": 1.0, "bound": 1.15}},
        {"workers": 2, "within": 500, "beyond": {"cases": 1000, "p99": 2.0, "bound": 1.15}},
    ]
    page, _, _ = report.render(document, tmp_path / "performance.md")
    assert "- 2 worker processes: within the target up to 500 live cases, beyond it from 1,000 (p99 2.00 s" in page


def test_a_rerun_fills_in_the_benchmarks_the_recorded_run_lost(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results.json")
    common = {"started": datetime.now(UTC), "load": {"before": [0.1, 0.1, 0.1], "after": [0.2, 0.2, 0.2]}}
    kept = figure(90, 100, Target(">=", 0.8, "≥ 0.8×"))
    results.record(
        [kept], size="custom", only=None, curves={}, settings={"minute_s": 40}, failed={"timers": "RPCError"}, **common
    )
    with pytest.raises(ValueError, match="store did not fail"):
        results.complete([kept], redone={"store"}, curves={}, settings={}, **common)
    redone = dict(kept, id="timers.p99")
    curves = {"timers": {"points": []}}
    results.complete([redone], redone={"timers"}, curves=curves, settings={"minute_s": 20}, **common)
    written = json.loads((tmp_path / "results.json").read_text())
    assert [r.get("rerun") for r in written["rows"]] == [None, 0]
    assert written["failed"] == {} and written["curves"] == {"timers": {"points": []}}
    assert written["reruns"][0]["benchmarks"] == ["timers"]
    assert written["reruns"][0]["failed_before"] == {"timers": "RPCError"}
    assert written["reruns"][0]["settings"] == {"minute_s": 20} and written["settings"] == {"minute_s": 40}
    page, _, _ = report.render(written, tmp_path / "performance.md")
    assert "**Measured again** (timers" in page and "`minute_s` 20" in page and "(rerun 0)" in page


def test_redo_failed_takes_the_recorded_runs_lost_benchmarks_and_sizes(tmp_path: Path, monkeypatch, capsys) -> None:
    from bench.run import SIZES, parse

    monkeypatch.setattr(results, "RESULTS", tmp_path / "results.json")
    with pytest.raises(SystemExit):
        parse(["--redo-failed"])
    assert "no complete run to complete" in capsys.readouterr().err
    settings = dict(SIZES["default"], minute_s=40)
    common = {"started": datetime.now(UTC), "load": {}, "curves": {}, "settings": settings, "size": "custom"}
    results.record([], only=None, failed={"timers": "RPCError"}, **common)
    size, only, chosen, redo = parse(["--redo-failed", "--set", "minute_s=20"])
    assert (size, only, redo) == ("custom", {"timers"}, True)
    assert chosen == dict(settings, minute_s=20)
    results.record([], only=None, failed={}, **common)
    with pytest.raises(SystemExit):
        parse(["--redo-failed"])
    assert "nothing to redo" in capsys.readouterr().err
