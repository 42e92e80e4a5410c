"""Charts in Chinese: every label is drawn in the CJK font the project ships, and no glyph falls back to a box."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.text import Text

from rectify.bulletins import charts
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.sim import charts as sim_charts

ROOT = Path(__file__).resolve().parents[2]
#: Every template a person reads that the charts' font must also cover (the bulletin is set in it as a PDF).
TEMPLATES = [ROOT / "bulletins" / "templates" / "bulletin.html.j2", ROOT / "bulletins" / "words.py"]


@pytest.fixture(scope="module")
def names() -> list[str]:
    """Every unit's and category's Chinese name in the sample city, and the ladder's rungs."""
    policy = load_city(DEFAULT_CITY_DIR).policy
    return [
        *(u.name for u in policy.units.values()),
        *(c.name for c in policy.categories.values()),
        *(r.name for r in policy.ladder),
    ]


def test_the_shipped_font_has_a_glyph_for_every_character_people_read(names: list[str]) -> None:
    with TTFont(charts.FONT_FILE, lazy=True) as font:
        cmap = font.getBestCmap()
    text = "".join(names) + "".join(p.read_text("utf-8") for p in TEMPLATES)
    wanted = {c for c in text if not c.isspace() and ord(c) >= 0x20}
    missing = sorted(c for c in wanted if ord(c) not in cmap)
    assert missing == [], f"no glyph in {charts.FONT_FILE.name} for {''.join(missing)!r}"
    assert (charts.FONT_FILE.parent / "OFL.txt").read_text().count("SIL OPEN FONT LICENSE Version 1.1") == 1


def test_every_label_of_a_chart_is_set_in_the_shipped_font(names: list[str]) -> None:
    with charts.chinese() as plt, warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s) …" would be a box in the picture
        fig, ax = plt.subplots(figsize=(8, 12))
        ax.barh(names, range(len(names)))
        ax.set(title="各单位得分", xlabel="得分")
        fig.canvas.draw()  # tick labels are made while drawing
        texts = [t for t in fig.findobj(Text) if t.get_text().strip()]
        fonts = {Path(font_manager.findfont(t.get_fontproperties(), fallback_to_default=False)) for t in texts}
        shown = {t.get_text() for t in texts}
        plt.close(fig)
    assert set(names) <= shown
    assert fonts == {charts.FONT_FILE}


def test_the_charts_of_bulletins_pages_and_the_simulation_draw_without_a_missing_glyph(
    names: list[str], tmp_path: Path
) -> None:
    units = [n for n in names if re.search(r"(街道|镇|局|委|办|队|中心)$", n)]
    rows = [{"place": i + 1, "name": n, "score": 90 - 3 * i} for i, n in enumerate(units)]
    weeks = ["第48周", "第49周", "第50周"]
    summary = {
        "daily": [
            {"date": f"2026-12-0{d}", "reported": 10 + d, "closed": d, "open_at_end": 9, "escalations": {"催办": d}}
            for d in range(1, 4)
        ],
        "totals": {"escalations": {"催办": 6}},
        "units": {
            f"u{i}": {"name": n, "received": 3, "on_time_rate": i / 50, "points": 0, "closed": 2}
            for i, n in enumerate(units)
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pictures = [
            charts.ranking_chart(
                {"territorial": rows[:12], "departments": rows[12:]}, "督查通报第1期 · 2026年第50周得分"
            ),
            charts.trend_chart(weeks, {n: [0.5, None, 0.9] for n in units[:8]}, "按期办结率", "%", percent=True),
        ]
        sim_charts._charts(summary, tmp_path)
    assert all(p.startswith(b"\x89PNG") for p in pictures)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(sim_charts.CHARTS.values())
