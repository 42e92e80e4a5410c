"""The `rectify` command as a user runs it: real processes, a real `rectify up`, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.city.sampling import point_in
from rectify.devstack import free_port, port_open
from tests.support.scenario import PYTHON, rectify


def descendants_named(pid: int, *names: str) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if any(n in _command_line(c) for n in names)]


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline() or [process.name()])
    except psutil.Error:  # gone, or a zombie (a server that died): nothing of it is left to stop
        return ""


@pytest.fixture(scope="module")
def running_stack() -> Iterator[dict[str, str]]:
    """`rectify up` in its own process, as a user would start it; stopped with Ctrl-C (SIGINT) at the end.

    Not under pytest's own temporary folder: another pytest run on the machine resets it to 0700, and the postgres
    user (PostgreSQL refuses to run as root) then loses its data folder in the middle of this module."""
    data_dir = Path(tempfile.mkdtemp(prefix="rectify-test-up-"))
    # A port of its own: another run's `rectify up` (or another xdist worker's) may be taking 8311 right now.
    env = {**os.environ, "RECTIFY_DATA_DIR": str(data_dir), "RECTIFY_API_PORT": str(free_port()), "COLUMNS": "200"}
    for name in ("RECTIFY_TEMPORAL_ADDRESS", "RECTIFY_DATABASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen([PYTHON, "-m", "rectify.cli", "up"], env=env, stdout=subprocess.PIPE, text=True)
    stack_file = data_dir / "stack.json"
    deadline = time.monotonic() + 90
    while not stack_file.exists():
        assert proc.poll() is None, f"rectify up exited with {proc.returncode}"
        assert time.monotonic() < deadline, "rectify up did not come up within 90 s"
        time.sleep(0.2)
    env["_UP_PID"] = str(proc.pid)
    try:
        yield env
    finally:
        try:
            servers = descendants_named(proc.pid, "postgres", "temporal")
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
            _gone, alive = psutil.wait_procs(servers, timeout=20)
            assert not alive, f"servers left running after Ctrl-C: {[p.pid for p in alive]}"
            assert not stack_file.exists()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def test_usage_errors_exit_2_without_a_traceback() -> None:
    result = rectify("report", "--category", "street_vending", env=dict(os.environ))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Missing option" in result.stderr


def test_an_unreachable_server_exits_3_with_a_message(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RECTIFY_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "RECTIFY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
        "RECTIFY_DATA_DIR": str(tmp_path),
    }
    result = rectify("list", env=env)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "127.0.0.1:1" in result.stderr


def test_a_broken_city_folder_exits_2_naming_the_file(tmp_path: Path) -> None:
    result = rectify("city-check", str(tmp_path), env=dict(os.environ))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and str(tmp_path.name) in result.stderr


def test_report_claim_and_list_through_a_running_stack(running_stack: dict[str, str]) -> None:
    env = running_stack
    city = load_city(DEFAULT_CITY_DIR)
    point = point_in(city, index=5)
    report = rectify(
        "report",
        "--category",
        "street_vending",
        "--lon",
        str(point.lon),
        "--lat",
        str(point.lat),
        "--description",
        "人行道流动摊贩",
        "--key",
        "cli-1",
        "--json",
        env=env,
    )
    assert report.returncode == 0, report.stderr
    ref = json.loads(report.stdout)
    assert ref["status"] == "dispatched"

    wrong = rectify("claim", ref["case_id"], "--unit", "not_the_lead", env=env)
    assert wrong.returncode == 1 and "not_authorised" in wrong.stderr and "Traceback" not in wrong.stderr

    claimed = rectify("claim", ref["case_id"], "--unit", ref["lead_unit"], "--json", env=env)
    assert claimed.returncode == 0, claimed.stderr
    assert json.loads(claimed.stdout)["state"]["status"] == "claimed"

    listed = json.loads(rectify("list", "--json", env=env).stdout)
    assert [row["case_id"] for row in listed] == [ref["case_id"]]
    assert listed[0]["status"] == "claimed"

    history = json.loads(rectify("history", ref["case_id"], "--json", env=env).stdout)
    assert [e["type"] for e in history if e["type"] != "deadline_set"] == [
        "case_reported",
        "case_dispatched",
        "case_claimed",
    ]

    missing = rectify("show", "no-such-case", env=env)
    assert missing.returncode == 1 and "no case" in missing.stderr

    outside = rectify(
        "report",
        "--category",
        "street_vending",
        "--lon",
        "116.39",
        "--lat",
        "39.91",
        "--description",
        "x",
        env=env,
    )
    assert outside.returncode == 1 and "outside_district" in outside.stderr


def test_cases_are_listable_by_search_attribute_in_temporal(running_stack: dict[str, str]) -> None:
    env = running_stack
    city = load_city(DEFAULT_CITY_DIR)
    point = point_in(city, index=11)
    ref = json.loads(
        rectify(
            "report",
            "--category",
            "street_vending",
            "--lon",
            str(point.lon),
            "--lat",
            str(point.lat),
            "--description",
            "占道经营",
            "--key",
            "cli-search",
            "--json",
            env=env,
        ).stdout
    )
    stack = json.loads((Path(env["RECTIFY_DATA_DIR"]) / "stack.json").read_text())
    temporal = stack["temporal_address"]
    query = f"RectifyLeadUnit = '{ref['lead_unit']}' AND RectifyStatus = 'dispatched'"
    deadline = time.monotonic() + 20
    while True:  # the dev server's visibility store is eventually consistent
        listed = subprocess.run(
            [
                str(Path(PYTHON).parent / "temporal"),
                "workflow",
                "list",
                "--address",
                temporal,
                "--query",
                query,
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if f"case-{ref['case_id']}" in listed.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert f"case-{ref['case_id']}" in listed.stdout, listed.stdout + listed.stderr


def test_a_second_up_on_the_same_folder_is_refused(running_stack: dict[str, str]) -> None:
    result = rectify("up", env=running_stack, timeout=60)
    assert result.returncode == 3
    assert "already running" in result.stderr and "Traceback" not in result.stderr


def test_extension_and_inbox_through_a_running_stack(running_stack: dict[str, str]) -> None:
    env = running_stack
    point = point_in(load_city(DEFAULT_CITY_DIR), "st_cuntan")
    ref = json.loads(
        rectify(
            "report",
            "--category",
            "illegal_structures",
            "--lon",
            str(point.lon),
            "--lat",
            str(point.lat),
            "--description",
            "违章搭建雨棚",
            "--key",
            "cli-extend",
            "--json",
            env=env,
        ).stdout
    )
    assert rectify("claim", ref["case_id"], "--unit", ref["lead_unit"], env=env).returncode == 0
    asked = rectify(
        "extend", ref["case_id"], "--unit", ref["lead_unit"], "--hours", "7", "--reason", "需拆除审批", env=env
    )
    assert asked.returncode == 0, asked.stderr
    again = rectify("extend", ref["case_id"], "--unit", ref["lead_unit"], "--hours", "7", "--reason", "再次", env=env)
    assert again.returncode == 1 and "already pending" in again.stderr
    granted = rectify("decide-extension", ref["case_id"], "--grant", "--reason", "同意", "--json", env=env)
    assert granted.returncode == 0, granted.stderr
    assert [e["type"] for e in json.loads(granted.stdout)["events"]] == ["extension_granted", "deadline_set"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inbox = json.loads(rectify("inbox", ref["lead_unit"], "--json", env=env).stdout)
        if any(n["case_id"] == ref["case_id"] for n in inbox):
            break
        time.sleep(0.3)
    assert any(n["case_id"] == ref["case_id"] and n["kind"] == "case_dispatched" for n in inbox)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "quantum"], "--engine 'quantum' is not known"),
        (["--start", "next tuesday", "--engine", "direct"], "is not a date"),
        (["--start", "2020-01-06", "--engine", "temporal"], "cannot start in the past"),
        (["--days", "0"], "Invalid value for '--days'"),
    ],
)
def test_simulate_refuses_bad_options_with_a_clear_message(args: list[str], message: str, tmp_path: Path) -> None:
    env = {**os.environ, "RECTIFY_DATA_DIR": str(tmp_path)}
    result = rectify("simulate", *args, "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "postgres").exists()  # nothing was started for a run that could not go ahead


def test_audit_replays_the_corpus_from_the_command_line(tmp_path: Path) -> None:
    corpus = Path(__file__).parents[1] / "histories"
    result = rectify("audit", "replay", "--dir", str(corpus), env={**os.environ, "RECTIFY_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list(corpus.glob("*.json")))
    assert f"{count} of {count} histories replay on today's code" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["audit", "verify"], 3, "no database"),
        (["audit", "show", "x", "--at", "soon"], 2, "is not a moment"),
        (["audit", "replay"], 2, "give exactly one of --case ID, --all or --dir PATH"),
        (["audit", "export", "out.zip", "--from", "2026-13-01"], 2, "is not a date"),
    ],
)
def test_audit_commands_explain_what_is_missing(args: list[str], code: int, message: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECTIFY_")} | {"RECTIFY_DATA_DIR": str(tmp_path)}
    result = rectify(*args, env=env)
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_rectify_up_serves_open311_and_v1_to_keys_made_with_rectify_keys(running_stack: dict[str, str]) -> None:
    import httpx

    stack_file = Path(running_stack["RECTIFY_DATA_DIR"]) / "stack.json"
    deadline = time.monotonic() + 30
    while "api_url" not in json.loads(stack_file.read_text()):
        assert time.monotonic() < deadline, "rectify up did not start its API"
        time.sleep(0.2)
    base = json.loads(stack_file.read_text())["api_url"]
    made = rectify("keys", "create", "--unit", "app_hotline", "--role", "reporter", "--json", env=running_stack)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    city = load_city(DEFAULT_CITY_DIR)
    spot = point_in(city, "st_guanyinqiao", index=5)
    services = httpx.get(f"{base}/open311/v2/services.json", timeout=10).json()
    assert any(s["service_code"] == "street_vending" for s in services)
    created = httpx.post(
        f"{base}/open311/v2/requests.json",
        timeout=30,
        data={
            "api_key": key,
            "service_code": "street_vending",
            "lat": spot.lat,
            "long": spot.lon,
            "description": "摊贩占道",
            "media_url": "https://img.example.cn/a.jpg",
        },
    )
    assert created.status_code == 200, created.text
    case_id = created.json()[0]["service_request_id"]
    shown = httpx.get(f"{base}/open311/v2/requests/{case_id}.xml", timeout=10)
    assert shown.status_code == 200 and case_id in shown.text
    # The lead unit works it through /v1 while a third-party Open311 client follows it to closed.
    lead = city.router.route("street_vending", spot).lead_unit
    keys = {}
    for unit, role in ((lead, "unit"), ("office_inspection", "inspector")):
        made = rectify("keys", "create", "--unit", unit, "--role", role, "--json", env=running_stack)
        keys[role] = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}
    photo = httpx.post(
        f"{base}/v1/evidence", headers=keys["unit"], timeout=30, files={"file": ("p.png", _png(), "image/png")}
    ).json()["evidence"]
    for role, action, body in (
        ("unit", "claim", {}),
        ("unit", "submit", {"evidence": [photo]}),
        ("inspector", "verify", {"passed": True}),
    ):
        done = httpx.post(f"{base}/v1/cases/{case_id}/{action}", json=body, headers=keys[role], timeout=30)
        assert done.status_code == 200, done.text
    from georeport import GeoReport

    followed = GeoReport(f"{base}/open311/v2").get_service_request(case_id)
    assert followed["status"] == "closed" and followed["media_url"] == "https://img.example.cn/a.jpg"
    listed = rectify("keys", "list", "--json", env=running_stack)
    assert key not in listed.stdout and "app_hotline" in listed.stdout  # the key itself is never shown again
    key_id = key.split("_")[1]
    assert rectify("keys", "revoke", key_id, env=running_stack).returncode == 0
    refused = httpx.post(
        f"{base}/open311/v2/requests.json",
        timeout=10,
        data={"api_key": key, "service_code": "x", "lat": "29.6", "long": "106.57"},
    )
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


# -- Ctrl-C and failures in demo and simulate: nothing left running ---------------------------------------
SIMULATE = ("simulate", "--days", "3", "--reports-per-day", "30")
#: The servers each command starts: the time-skipping server for the simulation, the dev server for the walkthrough.
SIMULATION_SERVERS = ("postgres", "temporal-test-server")
WALKTHROUGH_SERVERS = ("postgres", "temporal")


def listening_ports(process: psutil.Process) -> list[int]:
    try:
        return [c.laddr.port for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    except psutil.NoSuchProcess:
        return []


def name_of(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:  # a postgres backend that just ended
        return ""


def events_stored(port: int) -> bool:
    import asyncio

    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=5)
        try:
            return await conn.fetchval("SELECT count(*) FROM events")
        finally:
            await conn.close()

    try:
        return asyncio.run(count()) > 0
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):  # not up yet, or the schema being reset
        return False


def at_work(proc: subprocess.Popen, names: tuple[str, ...], log: Path, timeout: float = 120) -> list[psutil.Process]:
    """Wait until each named server runs under `proc` and listens, and events are being stored: mid-run.
    Returns every process under it then (the servers and their own children)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"it exited with {proc.returncode} before it was stopped:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{names} not up, or no events stored, in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        servers = {n: [c for c in children if name_of(c) == n and listening_ports(c)] for n in names}
        if all(servers.values()) and events_stored(listening_ports(servers["postgres"][0])[0]):
            return children
        time.sleep(0.3)


@pytest.mark.parametrize(
    ("args", "servers", "how"),
    [
        (SIMULATE, SIMULATION_SERVERS, "ctrl-c"),  # SIGINT to the whole process group, as a terminal sends it
        (("demo",), SIMULATION_SERVERS, "sigint"),  # `kill -INT` to the command alone: it must stop them itself
        (("demo", "--walkthrough"), WALKTHROUGH_SERVERS, "ctrl-c"),
        (SIMULATE, SIMULATION_SERVERS, "server dies"),  # a failure: the Temporal server is killed under it
    ],
    ids=["simulate-ctrl-c", "demo-sigint", "walkthrough-ctrl-c", "simulate-server-dies"],
)
def test_demo_and_simulate_leave_no_process_and_no_port_behind(
    args: tuple[str, ...], servers: tuple[str, ...], how: str, tmp_path: Path
) -> None:
    # Not under pytest's own temporary folder: another pytest run resets it to 0700, which the postgres user
    # (PostgreSQL refuses to run as root) then cannot enter.
    data_dir = Path(tempfile.mkdtemp(prefix="rectify-test-stop-"))
    env = {**os.environ, "RECTIFY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    for name in ("RECTIFY_TEMPORAL_ADDRESS", "RECTIFY_DATABASE_URL"):
        env.pop(name, None)
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [PYTHON, "-m", "rectify.cli", *args, "--out", str(tmp_path / "out")],
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        children = at_work(proc, servers, err)
        ports = {port for c in children for port in listening_ports(c)}
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        elif how == "sigint":
            proc.send_signal(signal.SIGINT)
        else:
            next(c for c in children if name_of(c) == servers[1]).kill()
        try:
            returncode = proc.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 60 s after it was stopped:\n{err.read_text()[-3000:]}") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)
    output = err.read_text(errors="replace")[-3000:]
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"left running: {[(p.pid, name_of(p)) for p in alive]}\n{output}"
    assert not [p for p in ports if port_open("127.0.0.1", p)], f"ports still open: {sorted(ports)}\n{output}"
    if how == "server dies":
        assert returncode != 0, output
    else:
        assert returncode == 130, output  # interrupted, as a shell reports Ctrl-C


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--status", "bogus"], "Invalid value for '--status'"),
        (["list", "--category", "dragons"], "'dragons' is not a category of this city"),
        (["list", "--territory", "st_nowhere"], "Invalid value for --territory: 'st_nowhere' is not a unit"),
        (["list", "--grid", "g-nowhere"], "'g-nowhere' is not a grid of this city"),
        (["list", "--level", "7"], "7 is not a rung of the ladder (0 to 4)"),
        (["inbox", "st_nowhere"], "'st_nowhere' is not a unit of this city"),
        (["accountability", "list", "--status", "bogus"], "Invalid value for '--status'"),
        (["keys", "create", "--unit", "st_nowhere", "--role", "unit"], "'st_nowhere' is not a unit of"),
        (["keys", "create", "--unit", "st_guanyinqiao", "--role", "system"], "role 'system' cannot hold a key"),
        (["keys", "create", "--unit", "st_guanyinqiao", "--role", "dispatcher"], "is not a dispatching office"),
        # The commands built from the table check their inputs against the command's model, and offer only
        # the roles the table allows.
        (["extend", "c-1", "--unit", "st_cuntan", "--hours", "0", "--reason", "r"], "Invalid value for --hours"),
        (["verify", "c-1", "--pass", "--role", "unit"], "Invalid value for '--role'"),
        (["accountability", "decide", "acc-1", "--outcome", "pardon", "--reason", "r"], "'--outcome'"),
        (["suspend", "c-1", "--reason", "r"], "Invalid value for --by: name the acting unit"),
    ],
)
def test_filters_and_key_holders_are_checked_against_the_city(args: list[str], message: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECTIFY_")} | {"RECTIFY_DATA_DIR": str(tmp_path)}
    result = rectify(*args, env=env | {"COLUMNS": "400"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "postgres").exists()  # refused before any server was started


@pytest.mark.parametrize("command", ["submit", "report"])
def test_a_photo_is_checked_by_content_before_anything_is_sent(command: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("整改完成，见附件")  # a text file, whatever its name says
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECTIFY_")} | {"RECTIFY_DATA_DIR": str(tmp_path)}
    report = ["report", "--category", "street_vending", "--lon", "106.57", "--lat", "29.6", "--description", "x"]
    args = ["submit", "some-case", "--unit", "st_guanyinqiao"] if command == "submit" else report
    result = rectify(*args, "--photo", str(notes), env=env | {"COLUMNS": "400"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not an accepted image" in result.stderr and "notes.jpg" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_repeat_report_through_the_cli_joins_the_open_case_as_through_open311(running_stack: dict[str, str]) -> None:
    point = point_in(load_city(DEFAULT_CITY_DIR), "st_wulidian", index=5)
    args = ["report", "--category", "posters_graffiti", "--lat", str(point.lat), "--description", "外墙小广告"]
    first = rectify(*args, "--lon", str(point.lon), "--json", env=running_stack)
    assert first.returncode == 0, first.stderr
    opened = json.loads(first.stdout)
    assert opened["duplicate"] is False
    nearby = str(point.lon + 0.0001)  # about 10 m east
    again = rectify(*args, "--lon", nearby, "--json", env=running_stack)
    joined = json.loads(again.stdout)
    assert joined["duplicate"] is True and joined["case_id"] == opened["case_id"] and 5 < joined["distance_m"] < 15
    said = rectify(*args, "--lon", nearby, env=running_stack)
    assert said.returncode == 0 and f"joined case {opened['case_id']}" in said.stdout.replace("\n", "")
    history = json.loads(rectify("history", opened["case_id"], "--json", env=running_stack).stdout)
    assert [e["type"] for e in history].count("duplicate_attached") == 2
    listed = json.loads(rectify("list", "--category", "posters_graffiti", "--json", env=running_stack).stdout)
    assert [row["case_id"] for row in listed] == [opened["case_id"]]  # one case, whatever the reports


def test_every_command_can_print_json() -> None:
    """`--json` on every command (the long-running servers print their addresses as JSON once up)."""
    import typer

    from rectify.cli import app

    def leaves(group, path=()):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from leaves(command, (*path, name))
            else:
                yield (*path, name), command

    without = [" ".join(path) for path, c in leaves(typer.main.get_command(app)) if "--json" not in _options(c)]
    assert without == ["worker"]  # the worker logs JSON lines itself (structlog); it prints nothing else


def _options(command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)}


def test_a_report_key_sent_again_with_another_report_is_refused(running_stack: dict[str, str]) -> None:
    point = point_in(load_city(DEFAULT_CITY_DIR), "st_wulidian", index=3)
    args = [
        "report",
        "--category",
        "street_vending",
        "--lon",
        str(point.lon),
        "--lat",
        str(point.lat),
        "--key",
        "cli-same-key",
        "--json",
    ]
    first = rectify(*args, "--description", "摊贩占道", env=running_stack)
    assert first.returncode == 0, first.stderr
    again = rectify(*args, "--description", "摊贩占道", env=running_stack)  # a retry: the same case
    assert again.returncode == 0 and json.loads(again.stdout)["case_id"] == json.loads(first.stdout)["case_id"]
    other = rectify(*args, "--description", "另一件事", env=running_stack)
    assert other.returncode == 1 and "idempotency_key_reused" in other.stderr and "Traceback" not in other.stderr
