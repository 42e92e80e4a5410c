"""`rectify up` stops on one Ctrl-C within 30 s, whatever it was doing, and leaves no process or port behind.

It also runs its PostgreSQL with fsync on, unlike the tests and the demo.

Reproduced before: a NUL through Open311 or a /v1 reason made the append retry inside the workflow task, and
`rectify up` then ignored Ctrl-C for minutes. Here a NUL goes through each API, and then, to hold work in
flight on purpose, an append is left waiting on the store's position lock when Ctrl-C comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.city.sampling import point_in
from rectify.devstack import free_port, port_open
from rectify.store import locks

PYTHON = sys.executable
#: The issue's bound: one Ctrl-C stops the whole stack within this many seconds.
STOP_WITHIN = 30


@dataclass
class Up:
    proc: subprocess.Popen
    env: dict[str, str]
    info: dict
    children: list[psutil.Process]

    def rectify(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "rectify.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def key(self, unit: str, role: str) -> str:
        made = self.rectify("keys", "create", "--unit", unit, "--role", role, "--json")
        assert made.returncode == 0, made.stderr
        return json.loads(made.stdout)["key"]

    def ports(self) -> list[tuple[str, int]]:
        temporal = self.info["temporal_address"].rsplit(":", 1)
        api = self.info["api_url"].removeprefix("http://").rsplit(":", 1)
        pg = self.info["database_url"].rsplit("@", 1)[1].split("/")[0].rsplit(":", 1)
        return [(host, int(port)) for host, port in (temporal, api, pg)]

    def stop_once(self) -> float:
        """One SIGINT, as Ctrl-C sends it; returns how long the stack took to be gone entirely."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            psutil.wait_procs(self.children, timeout=5)
            for child in self.children:
                if child.is_running():
                    child.kill()
            pytest.fail(f"rectify up was still running {STOP_WITHIN} s after one Ctrl-C")
        _gone, alive = psutil.wait_procs(self.children, timeout=max(0.1, STOP_WITHIN - (time.monotonic() - started)))
        assert not alive, f"left running after Ctrl-C: {[p.cmdline()[:2] for p in alive]}"
        took = time.monotonic() - started
        print(f"rectify up stopped {took:.1f} s after one Ctrl-C")
        return took


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    env = {**os.environ, "RECTIFY_DATA_DIR": str(tmp_path / "data"), "RECTIFY_API_PORT": str(free_port())}
    for name in ("RECTIFY_TEMPORAL_ADDRESS", "RECTIFY_DATABASE_URL"):
        env.pop(name, None)
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([PYTHON, "-m", "rectify.cli", "up"], env=env, stdout=out, stderr=subprocess.STDOUT)
    stack_file = tmp_path / "data" / "stack.json"
    deadline = time.monotonic() + 120
    info: dict = {}
    while "api_url" not in info:
        assert proc.poll() is None, f"rectify up exited with {proc.returncode}: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "rectify up did not come up within 120 s"
        time.sleep(0.2)
        try:
            info = json.loads(stack_file.read_text())
        except (OSError, ValueError):
            info = {}
    stack = Up(proc, env, info, psutil.Process(proc.pid).children(recursive=True))
    try:
        yield stack
    finally:
        if proc.poll() is None:  # the test failed before its Ctrl-C: still leave nothing behind
            proc.kill()
            for child in stack.children:
                if child.is_running():
                    child.kill()


def _report(base: str, key: str, spot: object, description: str) -> httpx.Response:
    form = {
        "api_key": key,
        "service_code": "street_vending",
        "lat": spot.lat,
        "long": spot.lon,
        "description": description,
    }
    return httpx.post(f"{base}/open311/v2/requests.json", data=form, timeout=STOP_WITHIN)


async def _setting(url: str, name: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(f"SHOW {name}")
    finally:
        await conn.close()


def _gone(up: Up) -> None:
    open_ports = [p for p in up.ports() if port_open(*p)]
    assert not open_ports, f"ports still open after Ctrl-C: {open_ports}"
    assert not (Path(up.env["RECTIFY_DATA_DIR"]) / "stack.json").exists()


def test_after_a_nul_through_each_api_one_ctrl_c_stops_the_stack_and_the_audit_passes(up: Up) -> None:
    base = up.info["api_url"]
    city = load_city(DEFAULT_CITY_DIR)
    spot = point_in(city, "st_guanyinqiao", index=3)
    reporter = up.key("app_wechat", "reporter")
    poisoned = _report(base, reporter, spot, "bad\x00text")  # form-encoded: description=bad%00text
    assert 400 <= poisoned.status_code < 500, poisoned.text
    created = _report(base, reporter, spot, "摊贩占道")
    assert created.status_code == 200, created.text
    case_id = created.json()[0]["service_request_id"]
    unit = up.key(city.router.route("street_vending", spot).lead_unit, "unit")
    extend = httpx.post(
        f"{base}/v1/cases/{case_id}/extend",
        json={"hours": 2, "reason": "需要\u0000审批"},
        headers={"Authorization": f"Bearer {unit}"},
        timeout=STOP_WITHIN,
    )
    assert 400 <= extend.status_code < 500, extend.text
    claimed = httpx.post(
        f"{base}/v1/cases/{case_id}/claim", json={}, headers={"Authorization": f"Bearer {unit}"}, timeout=STOP_WITHIN
    )
    assert claimed.status_code == 200, claimed.text  # the case still takes commands
    assert asyncio.run(_setting(up.info["database_url"], "fsync")) == "on"  # acknowledged events survive a power cut
    took = up.stop_once()
    assert took < STOP_WITHIN
    _gone(up)
    verified = up.rectify("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_one_ctrl_c_stops_the_stack_while_an_append_is_in_flight(up: Up) -> None:
    """The worker's shutdown is bounded: the append it was running is left to Temporal to run again."""
    base = up.info["api_url"]
    city = load_city(DEFAULT_CITY_DIR)
    spot = point_in(city, "st_guanyinqiao", index=4)
    created = _report(base, up.key("app_wechat", "reporter"), spot, "摊贩占道")
    assert created.status_code == 200, created.text
    case_id = created.json()[0]["service_request_id"]
    unit = up.key(city.router.route("street_vending", spot).lead_unit, "unit")

    async def hold_the_lock_and_send_ctrl_c() -> float:
        blocker = await asyncpg.connect(up.info["database_url"])
        await blocker.execute("SELECT pg_advisory_lock($1)", locks.POSITION)  # appends now wait at the lock
        headers = {"Authorization": f"Bearer {unit}"}
        url = f"{base}/v1/cases/{case_id}/claim"
        claim = threading.Thread(
            target=_quietly,
            args=(httpx.post, url),
            daemon=True,
            kwargs={"json": {}, "headers": headers, "timeout": STOP_WITHIN * 2},
        )
        claim.start()
        deadline = time.monotonic() + 30
        while not await blocker.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
            assert time.monotonic() < deadline, "the claim never reached the append"
            await asyncio.sleep(0.1)
        try:
            return up.stop_once()
        finally:
            _quietly(blocker.terminate)

    took = asyncio.run(hold_the_lock_and_send_ctrl_c())
    assert took < STOP_WITHIN
    _gone(up)


def _quietly(call: object, *args: object, **kwargs: object) -> None:
    with contextlib.suppress(Exception):  # the stack went away under it, on purpose
        call(*args, **kwargs)
