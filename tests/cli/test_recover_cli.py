"""`rectify recover` without a reachable Temporal: exit 3 and a sentence naming the address, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_recover_without_a_reachable_temporal_exits_3_naming_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RECTIFY_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "RECTIFY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
        "RECTIFY_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "rectify.cli", "recover", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "127.0.0.1:1" in result.stderr and result.stdout == ""
