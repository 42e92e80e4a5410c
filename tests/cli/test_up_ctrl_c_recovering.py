"""One Ctrl-C stops `rectify up` while it is still filling Temporal with a simulated city's open cases (the
recovery it runs first, as after `rectify demo`), and leaves no process and no port behind.

A report said up ignored Ctrl-C there. The store is filled by the direct engine (about a thousand open cases, so
starting their workflows takes a while), then up starts on it and gets SIGINT, to its whole process group as a
terminal sends it or to itself alone as `kill -INT` does, as soon as its stack is up and the recovery begins.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from rectify.devstack import free_port, port_open

PYTHON = sys.executable
#: README's bound for one Ctrl-C (up stops in a few seconds; the machine may be loaded).
STOP_WITHIN = 30
#: The last thing the stack logs before up starts the store's open cases on Temporal.
RECOVERY_BEGINS = "schedule=rectify-weekly-bulletin"


@pytest.fixture(scope="module")
def filled() -> Iterator[Path]:
    """A data folder holding a simulated city (direct engine): its cases are in the store, no workflow runs them.
    Not under pytest's temporary folder, which the postgres user (PostgreSQL refuses root) may not enter."""
    data = Path(tempfile.mkdtemp(prefix="rectify-test-upfill-"))
    env = _env(data)
    args = ("simulate", "--engine", "direct", "--days", "3", "--reports-per-day", "400", "--out", str(data / "out"))
    done = subprocess.run([PYTHON, "-m", "rectify.cli", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    try:
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _env(data: Path) -> dict[str, str]:
    env = {**os.environ, "RECTIFY_DATA_DIR": str(data), "RECTIFY_API_PORT": str(free_port()), "COLUMNS": "200"}
    for name in ("RECTIFY_TEMPORAL_ADDRESS", "RECTIFY_DATABASE_URL"):
        env.pop(name, None)
    return env


def _ports(log: str) -> set[int]:
    """Every port up said it listens on: PostgreSQL, Temporal's frontend and its Web UI."""
    return {int(p) for p in re.findall(r"(?:port=|address=127\.0\.0\.1:|ui=http://127\.0\.0\.1:)(\d+)", log)}


@pytest.mark.parametrize("how", ["ctrl-c", "sigint"])
def test_one_ctrl_c_stops_up_while_it_starts_the_citys_cases(filled: Path, how: str, tmp_path: Path) -> None:
    out, err = tmp_path / "up.json", tmp_path / "up.log"
    (filled / "temporal.db").unlink(missing_ok=True)  # as after the demo: no workflow runs the store's cases
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [PYTHON, "-m", "rectify.cli", "up", "--json"],
            env=_env(filled),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 180
        while RECOVERY_BEGINS not in err.read_text(errors="replace") and not out.read_text():
            assert proc.poll() is None, f"rectify up exited with {proc.returncode}: {err.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"up's stack was not up in 180 s: {err.read_text()[-3000:]}"
            seen |= {c.pid: c for c in psutil.Process(proc.pid).children(recursive=True)}
            time.sleep(0.05)
        seen |= {c.pid: c for c in psutil.Process(proc.pid).children(recursive=True)}
        assert not out.read_text(), "up was up before the Ctrl-C: the recovery was over (fill the city more)"
        stopped = time.monotonic()
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        try:
            returncode = proc.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            told = err.read_text(errors="replace")[-3000:]
            raise AssertionError(f"still running {STOP_WITHIN} s after one Ctrl-C:\n{told}") from None
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    log = err.read_text(errors="replace")
    print(f"rectify up stopped {took:.1f} s after one {how} while recovering")
    assert returncode == 130 and "Traceback" not in log, log[-3000:]
    assert not out.read_text(), "up said it was up: the Ctrl-C did not come while it was filling"
    recovered = re.findall(r"recover cases\D*(\d+)/(\d+)", log)
    assert not recovered or int(recovered[-1][0]) < int(recovered[-1][1]), recovered
    _gone, alive = psutil.wait_procs(list(seen.values()), timeout=10)
    assert not alive, f"left running: {[(p.pid, p.name()) for p in alive]}\n{log[-3000:]}"
    ports = _ports(log)
    assert len(ports) >= 3, f"up did not say where it listens: {log[-3000:]}"
    assert not [p for p in ports if port_open("127.0.0.1", p)], f"ports still open: {sorted(ports)}"
