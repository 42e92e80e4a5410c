"""Staff accounts and sessions for the web pages: who may have an account, argon2 passwords, the sign-in
throttle kept in PostgreSQL, sessions and their generation, the cookie secret, and `rectify users …`.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.config import Settings
from rectify.store import migrate
from rectify.store.staff import StaffStore
from rectify.web.accounts import AccountError, Accounts, Throttle, check_account
from rectify.web.sessions import SessionCodec
from rectify.web.signin import safe_next

POLICY = load_city(DEFAULT_CITY_DIR).policy
GOOD = "a-long-password-1"


@pytest.mark.parametrize(
    ("name", "unit", "role", "refusal"),
    [
        ("zhang.wei", "office_command", "dispatcher", None),
        ("李娜", "st_guanyinqiao", "unit", None),
        ("dept.staff", "dept_urban", "unit", None),
        ("gu.staff", "gu_caizheng", "unit", None),
        ("chen.jie", "office_inspection", "inspector", None),
        ("liu.yang", "office_chuangwen", "leader", None),
        ("zhao.min", "office_inspection", "auditor", None),
        ("x1", "nowhere", "unit", "unit 'nowhere' is not a unit of 重庆市江北区"),
        ("x2", "office_command", "unit", "a unit account belongs to a responsible unit, not to the office"),
        ("x3", "office_inspection", "dispatcher", "a dispatcher belongs to a dispatching office"),
        ("x4", "st_guanyinqiao", "inspector", "an inspector account belongs to an office"),
        ("x5", "st_guanyinqiao", "leader", "an leader account belongs to an office"),
        ("x6", "st_guanyinqiao", "boss", "role 'boss': one of dispatcher, unit, inspector, leader, auditor"),
        ("a b", "st_guanyinqiao", "unit", "name 'a b': 2-40 letters"),
    ],
)
def test_an_account_must_make_sense_in_the_city(name: str, unit: str, role: str, refusal: str | None) -> None:
    if refusal is None:
        assert check_account(POLICY, name, unit, role).value == role
    else:
        with pytest.raises(AccountError, match=refusal.replace("(", r"\(")):
            check_account(POLICY, name, unit, role)


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/cases/1?x=2", "/cases/1?x=2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_signing_in_only_a_path_here_is_followed(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_a_session_cookie_is_signed_and_only_its_own_token_counts() -> None:
    codec = SessionCodec("s" * 40)
    session = codec.load(None)
    assert session.changed and session.name is None
    session.sign_in("li.na", 3)
    cookie = codec.dump(session)
    back = codec.load(cookie)
    assert (back.name, back.generation, back.csrf, back.changed) == ("li.na", 3, session.csrf, False)
    assert back.csrf_ok(session.csrf) and not back.csrf_ok("forged") and not back.csrf_ok(None)
    for forged in (cookie[:-2] + "xx", SessionCodec("t" * 40).dump(session), "garbage"):
        assert codec.load(forged).name is None
    before = back.csrf
    back.sign_out()
    assert back.name is None and back.csrf != before and back.changed


def test_the_cookie_secret_comes_from_the_setting_or_the_data_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RECTIFY_WEB_SECRET must be at least 32 characters"):
        Settings.from_env({"RECTIFY_WEB_SECRET": "short"})
    assert Settings.from_env({"RECTIFY_WEB_SECRET": "k" * 32}).resolved_web_secret() == "k" * 32
    local = Settings(data_dir=tmp_path / "data")
    secret = local.resolved_web_secret()
    assert len(secret) >= 32 and local.resolved_web_secret() == secret  # kept, so sessions survive a restart
    assert stat.S_IMODE((tmp_path / "data" / "web-secret").stat().st_mode) == 0o600


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(fresh_database_url, min_size=1, max_size=4)
    await migrate(pool)
    yield pool
    await pool.close()


async def test_signing_in_checks_the_argon2_hash_and_records_every_attempt(pool: asyncpg.Pool) -> None:
    accounts = Accounts(StaffStore(pool), POLICY)
    user, generated = await accounts.create("li.na", "st_guanyinqiao", "unit", GOOD)
    assert generated is None and user.password_hash.startswith("$argon2id$") and GOOD not in user.password_hash
    assert (await accounts.sign_in("li.na", GOOD, "10.0.0.1")).user == user
    assert (await accounts.sign_in("li.na", "wrong-password", "10.0.0.1")).reason == "wrong_password"
    assert (await accounts.sign_in("nobody", GOOD, "10.0.0.1")).reason == "unknown_account"
    _, password = await accounts.create("wang.fang", "st_huaxinjie", "unit", None)
    assert len(password) == 16 and (await accounts.sign_in("wang.fang", password, "10.0.0.2")).user is not None
    with pytest.raises(AccountError, match="password: 10 to 200 characters"):
        await accounts.create("short.pw", "st_guanyinqiao", "unit", "short")
    recorded = [(s.name, s.address, s.ok, s.reason) for s in reversed(await accounts.store.signins())]
    assert recorded == [
        ("li.na", "10.0.0.1", True, "ok"),
        ("li.na", "10.0.0.1", False, "wrong_password"),
        ("nobody", "10.0.0.1", False, "unknown_account"),
        ("wang.fang", "10.0.0.2", True, "ok"),
    ]


async def test_failures_lock_the_account_then_the_address(pool: asyncpg.Pool) -> None:
    throttle = Throttle(per_account=3, per_address=5, window=timedelta(hours=1), lock=timedelta(minutes=15))
    accounts = Accounts(StaffStore(pool), POLICY, throttle)
    for name in ("li.na", "wang.fang"):
        await accounts.create(name, "st_guanyinqiao", "unit", GOOD)
    waits = [(await accounts.sign_in("li.na", "wrong-password", "10.0.0.1")).wait for _ in range(3)]
    assert waits[:2] == [None, None] and timedelta(minutes=14) < waits[2] <= timedelta(minutes=15)
    locked = await accounts.sign_in("li.na", GOOD, "10.0.0.9")  # the right password, from anywhere
    assert (locked.user, locked.reason) == (None, "throttled") and locked.wait is not None
    assert (await accounts.sign_in("wang.fang", GOOD, "10.0.0.1")).user is not None  # other accounts go on
    for i in range(2):  # two more failures from the address make five there
        await accounts.sign_in(f"guess{i}", "wrong-password", "10.0.0.1")
    assert (await accounts.sign_in("wang.fang", GOOD, "10.0.0.1")).reason == "throttled"
    assert (await accounts.sign_in("wang.fang", GOOD, "10.0.0.2")).user is not None


async def test_a_lock_ends_and_a_success_starts_the_count_again(pool: asyncpg.Pool) -> None:
    throttle = Throttle(per_account=2, per_address=100, window=timedelta(hours=1), lock=timedelta(seconds=1))
    accounts = Accounts(StaffStore(pool), POLICY, throttle)
    await accounts.create("li.na", "st_guanyinqiao", "unit", GOOD)
    for _ in range(2):
        await accounts.sign_in("li.na", "wrong-password", "10.0.0.1")
    assert (await accounts.sign_in("li.na", GOOD, "10.0.0.1")).reason == "throttled"
    await asyncio.sleep(1.2)  # the lock's own length, one second
    assert (await accounts.sign_in("li.na", GOOD, "10.0.0.1")).user is not None
    assert (await accounts.sign_in("li.na", "wrong-password", "10.0.0.1")).wait is None  # counting from one again


async def test_disabling_or_a_new_password_moves_the_session_generation(pool: asyncpg.Pool) -> None:
    accounts = Accounts(StaffStore(pool), POLICY)
    user, _ = await accounts.create("li.na", "st_guanyinqiao", "unit", GOOD)
    reset, new = await accounts.reset_password("li.na")
    assert reset.session_generation == user.session_generation + 1
    assert (await accounts.sign_in("li.na", GOOD, "10.0.0.1")).user is None
    assert (await accounts.sign_in("li.na", new, "10.0.0.1")).user is not None
    disabled = await accounts.store.disable("li.na")
    assert disabled.disabled and disabled.session_generation == reset.session_generation + 1
    assert (await accounts.sign_in("li.na", new, "10.0.0.1")).reason == "disabled"


def _rectify(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rectify.cli", "users", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_users_command(fresh_database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "RECTIFY_DATABASE_URL": fresh_database_url, "RECTIFY_DATA_DIR": str(tmp_path)}
    made = _rectify("create", "zhang.wei", "--unit", "office_command", "--role", "dispatcher", "--json", env=env)
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert shown["unit_name"] == "区数字城管指挥中心" and len(shown["password"]) == 16
    typed = _rectify(
        "create", "li.na", "--unit", "st_guanyinqiao", "--role", "unit", "--password-stdin", env=env, stdin=GOOD + "\n"
    )
    assert typed.returncode == 0 and GOOD not in typed.stdout and "password:" not in typed.stdout
    inspector = ("create", "chen.jie", "--unit", "office_inspection", "--role", "inspector", "--json")
    area = _rectify(*inspector, "--area", "st_guanyinqiao,st_wulidian", "--area", "st_guanyinqiao", env=env)
    assert area.returncode == 0, area.stderr
    assert json.loads(area.stdout)["areas"] == ["st_guanyinqiao", "st_wulidian"]
    moved = _rectify("set-area", "chen.jie", "--area", "st_huaxinjie", "--json", env=env)
    assert moved.returncode == 0 and json.loads(moved.stdout)["areas"] == ["st_huaxinjie"], moved.stderr
    refused = [
        (("create", "x.y", "--unit", "office_inspection", "--role", "inspector", "--area", "nowhere"), "not a street"),
        (("create", "x.y", "--unit", "office_command", "--role", "dispatcher", "--area", "st_wulidian"), "only an"),
        (("set-area", "li.na", "--area", "st_wulidian"), "only an inspector account has an area"),
        (("set-area", "nobody"), "no account named 'nobody'"),
        (("create", "li.na", "--unit", "st_guanyinqiao", "--role", "unit"), "already exists"),
        (("create", "x.y", "--unit", "nowhere", "--role", "unit"), "is not a unit"),
        (("create", "x.y", "--unit", "office_command", "--role", "unit"), "belongs to a responsible unit"),
        (("create", "x.y", "--unit", "st_guanyinqiao", "--role", "boss"), "'boss' is not one of"),
        (("disable", "nobody"), "no account named 'nobody'"),
        (("reset-password", "nobody"), "no account named 'nobody'"),
    ]
    for args, message in refused:
        result = _rectify(*args, env=env)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    short = _rectify("reset-password", "li.na", "--password-stdin", env=env, stdin="short\n")
    assert short.returncode == 2 and "password: 10 to 200 characters" in short.stderr
    assert _rectify("disable", "li.na", env=env).returncode == 0
    listed = json.loads(_rectify("list", "--json", env=env).stdout)
    assert [(u["name"], u["role"], u["disabled"], u["areas"]) for u in listed] == [
        ("zhang.wei", "dispatcher", False, []),
        ("chen.jie", "inspector", False, ["st_huaxinjie"]),
        ("li.na", "unit", True, []),
    ]
    assert all("hash" not in key for u in listed for key in u)
    again = json.loads(_rectify("reset-password", "zhang.wei", "--json", env=env).stdout)
    assert again["password"] != shown["password"]
