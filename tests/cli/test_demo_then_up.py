"""A newcomer's path: `rectify demo`, then `rectify up` on the same data folder. Up starts the demo's open cases
on its dev server first (the demo ran on the time-skipping server, whose workflows are gone), so they take
commands; the demo's accounts sign in at /; the record still verifies against the new histories."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from rectify.devstack import free_port
from rectify.domain.types import FINAL_STATUSES

PYTHON = sys.executable


def rectify(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "rectify.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_after_the_demo_rectify_up_runs_its_cases_and_its_accounts_sign_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "RECTIFY_DATA_DIR": str(data), "RECTIFY_API_PORT": str(free_port()), "COLUMNS": "200"}
    for name in ("RECTIFY_TEMPORAL_ADDRESS", "RECTIFY_DATABASE_URL"):
        env.pop(name, None)
    data.mkdir()
    (data / "temporal.db").write_text("the workflows of an earlier demo's cases")  # replaced with those cases

    demo = rectify(env, "demo", "--days", "1", "--reports-per-day", "10", "--out", str(tmp_path / "out"), "--json")
    assert demo.returncode == 0, demo.stderr[-3000:]
    accounts = {a["name"]: a for a in json.loads(demo.stdout)["accounts"]}
    assert {"dispatcher", "inspector", "leader", "auditor"} <= set(accounts)
    assert not (data / "temporal.db").exists()

    out, log = tmp_path / "up.json", tmp_path / "up.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        up = subprocess.Popen([PYTHON, "-m", "rectify.cli", "up", "--json"], env=env, stdout=stdout, stderr=stderr)
    children: list[psutil.Process] = []
    try:
        shown = _when_up(up, out, log)
        children = psutil.Process(up.pid).children(recursive=True)
        listed = json.loads(rectify(env, "list", "--limit", "10000", "--json").stdout)
        live = [r for r in listed if r["status"] not in {s.value for s in FINAL_STATUSES}]
        assert live, "the demo left no case open"
        recovered = shown["recovered"]
        assert recovered["ok"] and recovered["counts"]["case"]["started"] == len(live), recovered

        again = rectify(env, "recover", "--json")
        assert again.returncode == 0, again.stderr[-2000:]
        counts = json.loads(again.stdout)["counts"]
        assert counts["case"] == {"started": 0, "running": len(live), "settled": 0, "ended": 0, "failed": 0}

        dispatched = [r for r in live if r["status"] == "dispatched"]
        assert dispatched, "no dispatched case to claim"
        claimed = rectify(env, "claim", dispatched[0]["case_id"], "--unit", dispatched[0]["lead_unit"], "--json")
        assert claimed.returncode == 0, claimed.stderr[-2000:]
        assert json.loads(claimed.stdout)["state"]["status"] == "claimed"

        with httpx.Client(base_url=shown["api_url"], timeout=30) as http:
            for name in ("dispatcher", next(n for n, a in accounts.items() if a["role"] == "unit")):
                page = http.get("/signin")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
                form = {"csrf_token": token, "name": name, "password": accounts[name]["password"], "next": "/"}
                signed_in = http.post("/signin", data=form)
                assert signed_in.status_code == 303, signed_in.text[-500:]
                home = http.get("/")
                assert home.status_code == 200 and accounts[name]["unit_name"] in home.text
                http.cookies.clear()

        verified = rectify(env, "audit", "verify", "--json")
        assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(60)
            except subprocess.TimeoutExpired:
                up.kill()
        _gone, alive = psutil.wait_procs(children, timeout=20)
        for child in alive:
            child.kill()
    assert up.returncode == 0, log.read_text()[-2000:]
    assert not alive, f"left running: {[p.pid for p in alive]}"


def _when_up(up: subprocess.Popen, out: Path, log: Path, timeout: float = 180) -> dict:
    """What `rectify up --json` printed once everything is up (recovery included)."""
    give_up = time.monotonic() + timeout
    while True:
        assert up.poll() is None, f"rectify up exited with {up.returncode}: {log.read_text()[-3000:]}"
        assert time.monotonic() < give_up, f"rectify up was not up within {timeout:.0f} s: {log.read_text()[-3000:]}"
        try:
            return json.loads(out.read_text())
        except ValueError:
            time.sleep(0.3)
