"""The auditors' role reads everything and writes nothing; every audit command works under it."""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from rich.console import Console

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from tests.support.scenario import rectify


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


async def test_an_auditor_verifies_and_exports_but_cannot_change_anything(
    fresh_database_url: str, tmp_path: Path
) -> None:
    config = SimConfig(seed=4, days=1, reports_per_day=20, start=date(2026, 11, 17))
    options = SimOptions(
        config=config,
        engine=EngineName.DIRECT,
        out_dir=tmp_path,
        data_dir=tmp_path,
        database_url=fresh_database_url,
        charts=False,
    )
    await simulate(load_city(DEFAULT_CITY_DIR), options, Console(quiet=True))
    env = {**os.environ, "RECTIFY_DATA_DIR": str(tmp_path / "none")}
    name = f"auditor_{uuid.uuid4().hex[:8]}"
    made = rectify("audit", "add-auditor", name, "--database-url", fresh_database_url, env=env)
    assert made.returncode == 0, made.stderr
    auditor = as_user(fresh_database_url, name)

    checked = rectify("audit", "verify", "--no-temporal", "--database-url", auditor, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VERIFIED" in checked.stdout
    exported = rectify(
        "audit",
        "export",
        str(tmp_path / "unit.zip"),
        "--unit",
        "st_guanyinqiao",
        "--from",
        "2026-11-17",
        "--to",
        "2026-11-18",
        "--database-url",
        auditor,
        env=env,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert rectify("audit", "verify-bundle", str(tmp_path / "unit.zip"), env=env).returncode == 0

    refused = rectify("audit", "checkpoint", "--database-url", auditor, env=env)
    assert refused.returncode == 1 and "permission denied" in refused.stderr and "Traceback" not in refused.stderr

    conn = await asyncpg.connect(auditor)
    try:
        for sql in (
            "INSERT INTO checkpoints (number, position, cases, root, prev_hash, hash) VALUES (99, 1, 1, 'r', 'p', 'h')",
            "UPDATE cases SET status = 'closed'",
            "DELETE FROM outbox",
            "CREATE TABLE sneaky (x int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()
