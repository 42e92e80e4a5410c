"""A bundle is input from anywhere: a checkpoint with fields missing is named, never a crash of the verifier."""

from __future__ import annotations

import json

from rectify.audit.verify_bundle import verify_files


def test_a_checkpoint_without_its_position_is_named_not_a_traceback() -> None:
    event = {"case_id": "c-1", "version": 1, "position": 1, "recorded_at": "2026-11-24T01:30:00+00:00"}
    checkpoint = {"number": 1, "cases": 1, "root": "0" * 64, "prev_hash": "0" * 64, "hash": "0" * 64}
    files = {
        "manifest.json": json.dumps({"files": {}}).encode(),
        "events.jsonl": json.dumps(event).encode(),
        "checkpoint.json": json.dumps(checkpoint).encode(),
    }
    problems, _ = verify_files(files)
    assert "checkpoint.json: no position" in problems
