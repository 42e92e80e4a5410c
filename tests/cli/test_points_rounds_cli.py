"""`rectify points …` and `rectify rounds …`: bad input is a usage error (exit 2) naming the option, before any
server is asked; the subcommands carry the command table's words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.scenario import rectify


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["rounds", "start", "--point", "p999"], "'p999' is not a point of this city"),
        (["rounds", "start", "--point", "p001", "--hours", "0"], "--hours"),
        (["rounds", "record", "r-1", "p001", "--fail", "no_such_item"], "is not an item of the farmers_market"),
        (["rounds", "record", "r-1", "p001", "--fail", "bins_ok"], "a failed item needs a photo"),
        (["rounds", "list", "--leader", "ld_nobody"], "'ld_nobody' is not a leader"),
        (["points", "list", "--category", "stadium"], "'stadium' is not a point category"),
        (["points", "show", "p999"], "'p999' is not a point"),
    ],
)
def test_bad_input_is_a_usage_error_naming_it(args: list[str], named: str, tmp_path: Path) -> None:
    result = rectify(*args, env={**os.environ, "RECTIFY_DATA_DIR": str(tmp_path), "COLUMNS": "300"})
    assert result.returncode == 2, result.stderr
    assert named in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


def test_the_round_subcommands_say_what_the_command_table_says(tmp_path: Path) -> None:
    result = rectify("rounds", "--help", env={**os.environ, "RECTIFY_DATA_DIR": str(tmp_path), "COLUMNS": "300"})
    assert result.returncode == 0
    assert "巡查: start a round by hand" in result.stdout and "检查记录: one point of a round" in result.stdout
