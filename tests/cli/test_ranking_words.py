"""`rectify ranking weekly|quarter|unit` as a person reads them: every heading in Chinese, as the bulletin heads
them (名次, 单位, 得分, 按期办结率 …), weeks and quarters written 2026年第50周 and 2026年第四季度; real processes over a
simulated week (direct engine) in a database of the test's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest
from rich.console import Console

from rectify.bulletins import words
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.domain.periods import week_of
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from tests.support.starts import configured_start, monday_on_or_after

ENGLISH = re.compile(r"\b(unit|score|change|received|closed|on time|on-time rate|points|open overdue|weeks|to)\b")


def rectify(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "240", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rectify.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
async def simulated(fresh_database_url: str, tmp_path) -> tuple[str, str, str]:
    city = load_city(DEFAULT_CITY_DIR)
    start = monday_on_or_after(configured_start(city.policy.calendar))
    config = SimConfig(seed=5, days=7, reports_per_day=15, start=start)
    options = SimOptions(
        config=config, engine=EngineName.DIRECT, out_dir=tmp_path, data_dir=tmp_path, database_url=fresh_database_url
    )
    await simulate(city, options, Console(quiet=True))
    week = week_of(start, city.policy.timezone).label
    return fresh_database_url, week, start.isoformat()


def test_the_ranking_tables_are_headed_in_chinese(simulated: tuple[str, str, str]) -> None:
    url, week, first = simulated
    weekly = rectify("ranking", "weekly", "--week", week, "--database-url", url)
    assert f"{words.week_title(week)} · 镇街排名" in weekly and f"{words.week_title(week)} · 职能部门排名" in weekly
    for heading in ("名次", "单位", "得分", "较上周", "受理", "办结", "按期办结", "按期办结率", "扣分", "超期未办结"):
        assert heading in weekly, heading
    assert "观音桥街道（st_guanyinqiao）" in weekly
    quarter = f"{first[:4]}-Q{(int(first[5:7]) - 1) // 3 + 1}"
    quarterly = rectify("ranking", "quarter", quarter, "--database-url", url)
    assert f"{words.quarter_title(quarter)}（" in quarterly and "周均得分" in quarterly and "镇街考核" in quarterly
    monday = date.fromisoformat(first)
    last = monday + timedelta(days=6)
    unit = rectify(
        "ranking", "unit", "st_guanyinqiao", "--from", first, "--to", last.isoformat(), "--database-url", url
    )
    wrapped = re.sub(r"\s+", "", unit)  # a narrow title wraps
    assert f"观音桥街道（st_guanyinqiao）·{words.span(monday, last)}" in wrapped
    assert "按期办结率" in unit and "得分" in unit and "按时认领" in unit
    for text in (weekly, quarterly, unit):
        assert not ENGLISH.search(re.sub(r"\(?st_\w+\)?|dept_\w+", "", text)), ENGLISH.search(text)
