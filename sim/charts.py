"""The run's summary drawn: four charts (matplotlib) and the figures of summary.json as Markdown and HTML.

The charts are in Chinese and name units by their Chinese names, in the CJK font bulletins/ ships
(bulletins.charts), so they read the same on any machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rectify.bulletins.charts import chinese, png
from rectify.bulletins.rendering import templates

CHARTS = {
    "intake": "intake_vs_closures.png",
    "backlog": "open_backlog.png",
    "escalations": "escalations_by_rung.png",
    "ranking": "unit_ranking.png",
}
_ENV = templates("rectify.sim")


def ranking(summary: dict) -> list[tuple[int, str, dict]]:
    """Units that received cases, best first: on-time closure rate, then fewer points, then fewer open.

    Ties share a place (1, 2, 2, 4), so equal figures never look like a judgement.
    """

    def key(item: tuple[str, dict]) -> tuple:
        _, u = item
        return (-(u["on_time_rate"] or 0.0), u["points"], -u["closed"])

    rows = sorted(((uid, u) for uid, u in summary["units"].items() if u["received"]), key=lambda i: (key(i), i[0]))
    ranked, place = [], 0
    for index, (uid, u) in enumerate(rows):
        if index == 0 or key((uid, u)) != key(rows[index - 1]):
            place = index + 1
        ranked.append((place, uid, u))
    return ranked


def _charts(summary: dict, out: Path) -> None:
    daily = summary["daily"]
    days = [d["date"][5:] for d in daily]
    x = list(range(len(days)))
    with chinese() as plt:
        fig, ax = plt.subplots(figsize=(9, 4))
        ax.bar([i - 0.2 for i in x], [d["reported"] for d in daily], width=0.4, label="受理")
        ax.bar([i + 0.2 for i in x], [d["closed"] for d in daily], width=0.4, label="办结")
        ax.set(title="每日受理与办结", xticks=x, xticklabels=days, ylabel="件")
        ax.legend()
        _save(fig, out / CHARTS["intake"], len(days))

        fig, ax = plt.subplots(figsize=(9, 4))
        ax.plot(x, [d["open_at_end"] for d in daily], marker="o", color="tab:red")
        ax.fill_between(x, [d["open_at_end"] for d in daily], alpha=0.15, color="tab:red")
        ax.set(title="每日末在办案件", xticks=x, xticklabels=days, ylabel="在办案件（件）")
        ax.set_ylim(bottom=0)
        _save(fig, out / CHARTS["backlog"], len(days))

        fig, ax = plt.subplots(figsize=(9, 4))
        rungs = list(summary["totals"]["escalations"])
        bottom = [0] * len(daily)
        for level, rung in enumerate(rungs, start=1):
            values = [d["escalations"][rung] for d in daily]
            ax.bar(x, values, bottom=bottom, label=f"第{level}级 {rung}")
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set(title="每日升级（一整改、二曝光、三扣分、四问责）", xticks=x, xticklabels=days, ylabel="升级次数")
        ax.legend()
        _save(fig, out / CHARTS["escalations"], len(days))

        ranked = ranking(summary)
        fig, ax = plt.subplots(figsize=(9, max(3, 0.28 * len(ranked) + 1)))
        labels = [f"{place}. {u.get('name') or uid}" for place, uid, u in ranked][::-1]
        shares = [u["on_time_rate"] for _, _, u in ranked][::-1]
        rates = [100 * (r or 0) for r in shares]
        colours = [
            "tab:gray" if r is None else "tab:green" if r >= 0.8 else "tab:orange" if r >= 0.6 else "tab:red"
            for r in shares
        ]
        bars = ax.barh(labels, rates, color=colours)
        texts = ["尚无办结" if r is None else f"{100 * r:.0f}%" for r in shares]
        ax.bar_label(bars, labels=texts, fontsize=7, padding=2)
        ax.set(title="单位排名：已办结案件中按期办结的比例", xlabel="按期办结率（%）", xlim=(0, 110))
        ax.tick_params(axis="y", labelsize=7)
        _save(fig, out / CHARTS["ranking"], 0)


def _save(fig: Any, path: Path, ticks: int) -> None:
    if ticks > 14:
        for label in fig.axes[0].get_xticklabels():
            label.set_rotation(60)
            label.set_fontsize(7)
    fig.tight_layout()
    path.write_bytes(png(fig, dpi=110))  # no timestamps in the PNG: the same run gives the same bytes


def write_summary(summary: dict, out: Path) -> list[Path]:
    """Write the charts, summary.md and summary.html into `out`; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    _charts(summary, out)
    context = {
        "s": summary,
        "run": summary["simulation"],
        "totals": summary["totals"],
        "ranked": ranking(summary),
        "charts": CHARTS,
        "rungs": list(summary["totals"]["escalations"]),
    }
    written = [out / name for name in CHARTS.values()]
    for template, name in (("summary.md.j2", "summary.md"), ("summary.html.j2", "summary.html")):
        (out / name).write_text(_ENV.get_template(template).render(**context), encoding="utf-8")
        written.append(out / name)
    return written
