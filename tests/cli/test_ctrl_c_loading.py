"""Ctrl-C while a `rectify` command is still loading (its imports take seconds on a busy machine, and nothing has
started yet) exits with 130 and no traceback, as a Ctrl-C does once the command runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def test_ctrl_c_while_the_command_loads_exits_quietly() -> None:
    # -X importtime writes a line to stderr as each import ends: once typer's is there, rectify.cli is loading.
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "rectify.cli", "--help"],
        env={**os.environ, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.rsplit("|", 1)[-1].strip() == "typer":
            proc.send_signal(signal.SIGINT)
            break
    out, rest = proc.communicate(timeout=120)
    told = "".join(lines) + rest
    assert out == "", "the command had loaded and run before the Ctrl-C came"
    assert proc.returncode == 130, told[-3000:]
    assert "Traceback" not in told and "KeyboardInterrupt" not in told, told[-3000:]
