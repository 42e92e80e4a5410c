"""Charts in Chinese: matplotlib with the CJK font shipped in this package, as PNG bytes.

Units are named by their Chinese names, so the charts need a font with those glyphs wherever the project is
installed. `fonts/NotoSansSC-Regular.ttf` (Noto Sans SC, SIL Open Font License, `fonts/OFL.txt`) is the
only family in force inside `chinese()`: a glyph it lacks makes matplotlib warn "Glyph … missing", which the
tests turn into errors, rather than quietly borrowing a box from another font.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

FONT_FILE = Path(__file__).parent / "fonts" / "NotoSansSC-Regular.ttf"
FONT_FAMILY = "Noto Sans SC"
#: In force while a chart is drawn and saved (tick labels are made at drawing time, so saving is inside too).
STYLE: dict[str, Any] = {
    "font.family": [FONT_FAMILY],
    "axes.unicode_minus": False,  # a hyphen-minus, which every font has
    "savefig.dpi": 100,
}
_registered: list[bool] = []
#: pyplot and rcParams are process-wide: one chart is drawn at a time (the web and the worker draw in threads).
_LOCK = threading.RLock()


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    if not _registered:
        font_manager.fontManager.addfont(str(FONT_FILE))
        _registered.append(True)
    return plt


@contextmanager
def chinese() -> Iterator[ModuleType]:
    """pyplot with the shipped CJK font as the only family; draw and save inside the block."""
    with _LOCK:
        plt = _pyplot()
        with plt.rc_context(STYLE):
            yield plt


def png(fig: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, then closed. No timestamp or software name, so the same data gives the same bytes."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    return buffer.getvalue()


GROUP_TITLE = {"territorial": "镇街", "departments": "部门"}


def ranking_chart(groups: dict[str, list[dict]], title: str) -> bytes:
    """The week's scores as bars, one panel per group, best at the top; under 60 in red."""
    with chinese() as plt:
        tallest = max((len(rows) for rows in groups.values()), default=1)
        fig, axes = plt.subplots(1, len(groups), figsize=(12, max(3.5, 0.32 * tallest + 1.2)), squeeze=False)
        for ax, (group, rows) in zip(axes[0], groups.items(), strict=True):
            labels = [f"{r['place']}. {r['name']}" for r in rows][::-1]
            scores = [r["score"] for r in rows][::-1]
            bars = ax.barh(labels, scores, color=["#c0392b" if s < 60 else "#2e6da4" for s in scores])
            ax.bar_label(bars, labels=[f"{s:.1f}" for s in scores], fontsize=7, padding=2)
            ax.set(title=f"{GROUP_TITLE.get(group, group)}得分", xlabel="得分")
            ax.set_xlim(0, max([100.0, *scores]) * 1.1)
            ax.tick_params(axis="y", labelsize=8)
        fig.suptitle(title)
        fig.tight_layout()
        return png(fig)


def trend_chart(
    weeks: Sequence[str], series: Mapping[str, Sequence[float | None]], title: str, ylabel: str, *, percent: bool
) -> bytes:
    """One line per unit over the weeks; None leaves a gap (nothing to measure that week)."""
    with chinese() as plt:
        from matplotlib.ticker import MaxNLocator

        fig, ax = plt.subplots(figsize=(9, 4.2))
        x = list(range(len(weeks)))
        colours = plt.get_cmap("tab20").colors  # twenty distinct colours: a district has a dozen streets and towns
        for index, (name, values) in enumerate(series.items()):
            shown = [float("nan") if v is None else (100 * v if percent else v) for v in values]
            ax.plot(x, shown, marker="o", markersize=3, linewidth=1.2, label=name, color=colours[index % 20])
        ax.set(title=title, ylabel=ylabel, xticks=x, xticklabels=list(weeks))
        if percent:
            ax.set_ylim(0, 105)
        else:
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # cases are whole
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
        if series:
            ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.tight_layout()
        return png(fig)
