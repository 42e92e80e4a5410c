"""`rectify audit verify --since-checkpoint [--record]` from the command line, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date

import pytest
from rich.console import Console

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate


def rectify(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECTIFY_")}
    return subprocess.run(
        [sys.executable, "-m", "rectify.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
async def database_url(pg: EmbeddedPostgres, tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = await pg.create_database(f"cli_since_{uuid.uuid4().hex[:8]}")
    config = SimConfig(seed=5, days=1, reports_per_day=20, start=date(2026, 11, 16))
    options = SimOptions(
        config=config, engine=EngineName.DIRECT, out_dir=tmp_path, data_dir=tmp_path, database_url=url, charts=False
    )
    await simulate(load_city(DEFAULT_CITY_DIR), options, Console(quiet=True))
    return url


def test_the_first_recorded_verify_is_full_and_the_next_builds_on_it(database_url: str) -> None:
    common = ("--no-temporal", "--json", "--database-url", database_url)
    first = rectify("audit", "verify", "--since-checkpoint", "--record", *common)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["ok"] and report["scope"] == "full" and report["checkpoint"]["verified"] == "full"

    second = rectify("audit", "verify", "--since-checkpoint", "--record", *common)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert (again["scope"], again["since"]) == ("incremental", report["checkpoint"]["number"])
    assert again["checkpoint"]["verified"] == "incremental"

    read_only = rectify("audit", "verify", "--since-checkpoint", *common)  # without --record: nothing written
    assert read_only.returncode == 0 and "checkpoint" not in json.loads(read_only.stdout)


def test_one_case_cannot_be_verified_since_a_checkpoint(database_url: str) -> None:
    result = rectify("audit", "verify", "--case", "x", "--since-checkpoint", "--database-url", database_url)
    assert result.returncode == 2 and "leave out --case" in result.stderr
