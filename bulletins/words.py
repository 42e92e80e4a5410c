"""The Chinese a reader sees for periods, dates, changes of place and indicators (bulletins, leaders' pages)."""

from __future__ import annotations

import re
from datetime import date

QUARTERS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
GROUP = {"territorial": "镇街", "departments": "职能部门"}
#: The published indicators' names (docs/indicators.md gives each formula).
INDICATOR = {
    "received": "受理",
    "closed": "办结",
    "closed_on_time": "按期办结",
    "on_time_rate": "按期办结率",
    "closure_rate": "办结率",
    "dispute_rate": "退单率",
    "rework_rate": "返工率",
    "points": "扣分",
    "open_overdue": "超期未办结",
}


def week_title(label: str) -> str:
    """2026-W50 → 2026年第50周 (the ISO week's year, which the first days of January may not share)."""
    match = re.fullmatch(r"(\d{4})-W(\d{2})", label)
    return f"{match[1]}年第{int(match[2])}周" if match else label


def quarter_title(label: str) -> str:
    """2026-Q4 → 2026年第四季度."""
    match = re.fullmatch(r"(\d{4})-Q([1-4])", label)
    return f"{match[1]}年{QUARTERS[int(match[2])]}" if match else label


def day(value: date | str) -> str:
    """2026-12-14 → 2026年12月14日."""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d.year}年{d.month}月{d.day}日"


def span(first: date | str, last: date | str) -> str:
    """12月7日至12月13日, with the year on both ends only when they differ."""
    a = date.fromisoformat(first) if isinstance(first, str) else first
    b = date.fromisoformat(last) if isinstance(last, str) else last
    if a.year != b.year:
        return f"{day(a)}至{day(b)}"
    return f"{a.month}月{a.day}日至{b.month}月{b.day}日"


def change(value: int | None) -> str:
    """A change of place since last week: 上升2位 / 下降1位 / 持平 / 上周无排名 (nothing to rank it by last week)."""
    if value is None:
        return "上周无排名"
    if value > 0:
        return f"上升{value}位"
    if value < 0:
        return f"下降{-value}位"
    return "持平"


def arrow(value: int | None) -> str:
    """The same change in a narrow column: ↑2 / ↓1 / ＝ / —."""
    if value is None:
        return "—"
    return f"↑{value}" if value > 0 else f"↓{-value}" if value < 0 else "＝"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f}%"


#: What each rate counts among: with none of it, the rate is shown as "—" (or a gap in a chart), not as 0.
RATE_BASE = {
    "on_time_rate": ("closed",),
    "closure_rate": ("received",),
    "dispute_rate": ("received",),
    "rework_rate": ("closed", "rework"),  # verified: closed, or sent back for rework
}


def measured(row: dict, rate: str) -> float | None:
    """The rate, or None when there was nothing to count it among."""
    base = RATE_BASE.get(rate, ())
    return row.get(rate) if not base or any(row.get(k) for k in base) else None


def rates(row: dict) -> dict[str, str]:
    """A ranking row's rates as shown: 85.7% or "—"."""
    return {rate: percent(measured(row, rate)) for rate in RATE_BASE}


def scoring_formula(scoring: dict) -> str:
    """得分 = 60 + 30×按期办结率 + 10×办结率 − 10×退单率 − 10×返工率 − 1×扣分."""
    parts = [f"{scoring['base']:g}"]
    for name, weight in scoring["weights"].items():
        parts.append(f"{'+' if weight >= 0 else '−'} {abs(weight):g}×{INDICATOR.get(name, name)}")
    return "得分 = " + " ".join(parts)
