"""Schemathesis over both APIs (/v1 and Open311 GeoReport v2, JSON and XML) with all its default checks:
no server error, only documented status codes, content types and headers, responses matching their
schemas, schema-valid data accepted and schema-invalid data refused. A short run in `make test`, the
long one (`make fuzz`) at 200 examples per operation."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from rectify.devstack import EmbeddedPostgres
from tests.support.api import api_stack, served

CONFIG = Path(__file__).parent / "schemathesis.toml"


async def schemathesis(pg: EmbeddedPostgres, tmp_path: Path, examples: int, *extra: str) -> str:
    async with api_stack(pg, tmp_path, rate=1e6, burst=10**6) as api:
        case_id = (await api.report())["service_request_id"]
        st = Path(sys.executable).parent / "st"
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "",
            "RECTIFY_FUZZ_KEY": api.keys["dispatcher"],
            "RECTIFY_FUZZ_CASE": case_id,
        }
        started = time.monotonic()
        async with served(api) as base:
            proc = await asyncio.create_subprocess_exec(
                str(st),
                "--config-file",
                str(CONFIG),
                "--no-color",
                "run",
                f"{base}/openapi.json",
                "--max-examples",
                str(examples),
                "--seed",
                "1",
                "--workers",
                "1",
                *extra,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=3600)
        text = out.decode(errors="replace")
        (Path(os.environ.get("RECTIFY_FUZZ_LOG", "/dev/null"))).write_text(text)
        print(text[-6000:])
        print(f"schemathesis: {examples} examples per operation in {time.monotonic() - started:.0f} s")
        assert proc.returncode == 0, text[-12000:]
        return text


async def test_schemathesis_finds_nothing_in_either_api(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    text = await schemathesis(pg, tmp_path, 10)
    assert "Tested: 32" in text  # every operation of both APIs: 4 of Open311, 28 of /v1 (cases, proceedings, rounds)


@pytest.mark.fuzz
async def test_schemathesis_long_run(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    await schemathesis(pg, tmp_path, 200)
