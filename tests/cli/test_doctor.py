"""`rectify doctor` on a real stack: healthy first, then each problem it exists to find, named."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

from rectify.client import CommandRejected
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.workflows.checkpoint_workflow import CheckpointWorkflow
from tests.support.scenario import hotline_report, refuse_marked_events, unit


def doctor(stack: TestStack, *args: str) -> tuple[int, dict]:
    env = {**os.environ, **stack.worker_environment()}
    done = subprocess.run(
        [sys.executable, "-m", "rectify.cli", "doctor", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, {c["name"]: c for c in json.loads(done.stdout)["checks"]}


async def test_doctor_finds_refused_appends_stuck_activities_and_missing_migrations(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        ref = await hotline_report(stack, "doctor-1")
        code, checks = await asyncio.to_thread(doctor, stack)
        assert code == 0, checks
        assert {name: c["status"] for name, c in checks.items()} == {
            "postgresql": "ok",
            "migrations": "ok",
            "refused appends": "ok",
            "dead letters": "ok",
            "temporal": "ok",
            "stuck workflows": "ok",
            "failed workflows": "ok",
        }

        # A notice the relay gave up on, as it records one (tests/channels show the relay writing these rows).
        await stack.store.pool.execute(
            """WITH o AS (SELECT notification_id FROM outbox WHERE case_id = $1 LIMIT 1),
               d AS (INSERT INTO notice_deliveries (notification_id, channel_id, state, failures)
                     SELECT notification_id, 'hook_doctor', 'dead', 8 FROM o RETURNING notification_id)
               INSERT INTO notice_dead_letters (notification_id, channel_id, reason, attempts, failed_at)
               SELECT notification_id, 'hook_doctor', 'HTTP 410 Gone', 8, now() FROM d""",
            ref.case_id,
        )
        await refuse_marked_events(stack, "拒收")
        try:
            await stack.client.dispute(ref.case_id, unit(ref.lead_unit), "拒收的理由")
        except CommandRejected as refused:
            assert refused.rule == "unstorable"
        # A checkpoint the database keeps refusing (not as data: retried), so its activity piles up attempts.
        await stack.store.pool.execute("""
            CREATE FUNCTION refuse_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'checkpoints are refused for the test'; END $$;
            CREATE TRIGGER refuse_checkpoint BEFORE INSERT ON checkpoints
                FOR EACH ROW EXECUTE FUNCTION refuse_checkpoint();
        """)
        handle = await stack.env.client.start_workflow(
            CheckpointWorkflow.run, id="doctor-stuck", task_queue=stack.task_queue
        )
        deadline = time.monotonic() + 60
        while True:
            pending = (await handle.describe()).raw_description.pending_activities
            if pending and pending[0].attempt >= 3:
                break
            assert time.monotonic() < deadline, "the checkpoint activity never got to its third attempt"
            await asyncio.sleep(0.5)
        await stack.store.pool.execute("DELETE FROM schema_migrations WHERE name = '0008_append_function.sql'")

        code, checks = await asyncio.to_thread(doctor, stack, "--attempts", "3")
        assert code == 1
        assert checks["refused appends"]["status"] == "warn" and "1 append(s)" in checks["refused appends"]["detail"]
        assert ref.case_id in checks["refused appends"]["items"][0]
        assert "UntranslatableCharacterError" in checks["refused appends"]["items"][0]
        letters = checks["dead letters"]
        assert letters["status"] == "warn" and letters["detail"].startswith("1 notice(s) given up")
        assert "hook_doctor" in letters["items"][0] and ref.case_id in letters["items"][0]
        assert "HTTP 410 Gone" in letters["items"][0]
        stuck = checks["stuck workflows"]
        assert stuck["status"] == "fail" and stuck["items"][0].startswith(
            "doctor-stuck: activity rectify.record_checkpoint"
        )
        assert "checkpoints are refused for the test" in stuck["items"][0]
        assert checks["migrations"] == {
            **checks["migrations"],
            "status": "fail",
            "items": ["not applied: 0008_append_function.sql"],
        }
        await handle.terminate("test over")


def test_doctor_says_which_server_it_cannot_reach(tmp_path: object) -> None:
    env = {
        **os.environ,
        "RECTIFY_DATA_DIR": str(tmp_path),
        "RECTIFY_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "RECTIFY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
    }
    done = subprocess.run(
        [sys.executable, "-m", "rectify.cli", "doctor"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3 and "Traceback" not in done.stderr + done.stdout
    assert "postgresql" in done.stdout and "temporal" in done.stdout and "could not be reached" in done.stdout


async def test_doctor_counts_every_dead_letter_and_lists_only_the_newest(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        ref = await hotline_report(stack, "doctor-letters")
        # 25 notices given up, one a minute (channel hook_01 the oldest, hook_25 the newest), as the relay records them.
        await stack.store.pool.execute(
            """WITH o AS (SELECT notification_id FROM outbox WHERE case_id = $1 LIMIT 1),
               n AS (SELECT notification_id, i, format('hook_%s', lpad(i::text, 2, '0')) AS channel_id
                     FROM o, generate_series(1, 25) AS i),
               d AS (INSERT INTO notice_deliveries (notification_id, channel_id, state, failures)
                     SELECT notification_id, channel_id, 'dead', 8 FROM n)
               INSERT INTO notice_dead_letters (notification_id, channel_id, reason, attempts, failed_at)
               SELECT notification_id, channel_id, 'HTTP 410 Gone', 8, now() - (25 - i) * interval '1 minute' FROM n""",
            ref.case_id,
        )
        code, checks = await asyncio.to_thread(doctor, stack)
        assert code == 0, checks
        letters = checks["dead letters"]
        assert letters["status"] == "warn" and letters["detail"].startswith("25 notice(s) given up")
        listed = [item.split()[3] for item in letters["items"][:-1]]
        assert listed == [f"hook_{i:02d}" for i in range(25, 5, -1)]  # the 20 newest, the newest first
        assert letters["items"][-1].startswith("… and 5 more")
