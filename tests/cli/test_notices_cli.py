"""`rectify notices …` and `rectify channels …` as an operator runs them: real processes, a real database, a
real local webhook receiver; exit codes 0, 1 and 2 and no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectify.channels.config import ChannelBook, WebhookChannel
from rectify.cli import run
from rectify.store import EventStore, migrate
from tests.support.given import LEAD
from tests.support.notices import file_reports, relay
from tests.support.receivers import HttpReceiver, http_receiver

SECRET = "cli-test-secret-0123456789"


def rectify(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rectify.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
async def rx() -> AsyncIterator[HttpReceiver]:
    async with http_receiver(webhook_secrets={"unit": SECRET, "gyq": SECRET}) as receiver:
        yield receiver


@pytest.fixture
def env(tmp_path: Path, fresh_database_url: str, rx: HttpReceiver) -> dict[str, str]:
    """A channels file of the sample city's units, one secret from the environment, and the test's database."""
    channels = tmp_path / "channels.toml"
    channels.write_text(
        f"""
[[channel]]
id = "gyq-hook"
unit = "st_guanyinqiao"
kind = "webhook"
url = "{rx.url}/hook/gyq"
secret = "env:GYQ_SECRET"

[[channel]]
id = "gyq-broken"
unit = "st_guanyinqiao"
kind = "webhook"
url = "{rx.url}/hook/nobody"
secret = "{SECRET}"
""",
        encoding="utf-8",
    )
    return {
        **os.environ,
        "RECTIFY_CHANNELS": str(channels),
        "RECTIFY_DATABASE_URL": fresh_database_url,
        "RECTIFY_DATA_DIR": str(tmp_path / "data"),
        "RECTIFY_PUBLIC_URL": "https://rectify.example.invalid",
        "GYQ_SECRET": SECRET,
        "COLUMNS": "200",
    }


async def test_a_dead_letter_is_listed_retried_and_its_tries_shown(
    env: dict[str, str], fresh_database_url: str, rx: HttpReceiver
) -> None:
    store = await EventStore.connect(fresh_database_url)
    try:
        await migrate(store.pool)
        [notice_id] = await file_reports(store, 1)
        hook = ChannelBook(channels=(WebhookChannel(id="hook", unit=LEAD, url=f"{rx.url}/hook/unit", secret=SECRET),))
        rx.fail_next("unit", 1, status=410)
        async with relay(store, hook) as r:
            await r.round()
        listed = rectify("notices", "failed", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        [letter] = json.loads(listed.stdout)
        assert (letter["notification_id"], letter["channel_id"], letter["recipient"]) == (notice_id, "hook", LEAD)
        assert "410" in letter["reason"]
        again = rectify("notices", "retry", str(letter["id"]), "--by", "值班员", "--json", env=env)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == {"retried": [letter["id"]], "by": "值班员"}
        async with relay(store, hook) as r:
            assert (await r.round()).delivered == 1
        shown = rectify("notices", "attempts", notice_id, "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        record = json.loads(shown.stdout)
        assert [a["outcome"] for a in record["attempts"]] == ["permanent", "delivered"]
        assert [a["status"] for a in record["attempts"]] == [410, 200]
        assert [d["state"] for d in record["deliveries"]] == ["delivered"]
        assert json.loads(rectify("notices", "failed", "--json", env=env).stdout) == []
        gone = rectify("notices", "retry", str(letter["id"]), env=env)  # retried already
        assert gone.returncode == 1 and "nothing to retry" in gone.stderr and "Traceback" not in gone.stderr
    finally:
        await store.close()


async def test_channels_test_sends_a_signed_test_notice_and_says_when_it_was_not_taken(
    env: dict[str, str], rx: HttpReceiver
) -> None:
    sent = rectify("channels", "test", "gyq-hook", "--json", env=env)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["outcome"] == "delivered"
    [body] = [json.loads(b) for b in rx.kept["gyq"].values()]  # the receiver checked the signature
    assert body["kind"] == "channel_test" and body["case"] is None and body["unit"]["name"] == "观音桥街道"
    assert body["title"] == "【测试】渠道接通测试" and body["url"] == "https://rectify.example.invalid"
    refused = rectify("channels", "test", "gyq-broken", env=env)  # 404 at the far end
    assert refused.returncode == 1 and "permanent (404)" in refused.stderr
    unset = rectify("channels", "list", env={k: v for k, v in env.items() if k != "GYQ_SECRET"})
    assert unset.returncode == 2 and "Traceback" not in unset.stderr
    said = " ".join(unset.stderr.split())  # the message wraps where the file's path (tmp_path) makes it long
    assert "channel[0].secret: environment variable GYQ_SECRET is not set" in said, unset.stderr


def test_usage_mistakes_exit_2_and_the_list_never_shows_a_secret(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run(["channels", "test", "nope"]) == 2 and "no channel 'nope'" in capsys.readouterr().err
    assert run(["notices", "retry", "1", "--channel", "hook"]) == 2
    assert run(["notices", "retry"]) == 2
    assert "name one dead letter" in capsys.readouterr().err
    assert run(["channels", "list", "--no-counts", "--json"]) == 0
    listed = capsys.readouterr().out
    assert [c["id"] for c in json.loads(listed)] == ["gyq-hook", "gyq-broken"] and SECRET not in listed
    assert run(["channels", "list", "--no-counts"]) == 0
    table = capsys.readouterr().out
    assert "gyq-broken" in table and "/hook/nobody" in table and SECRET not in table
