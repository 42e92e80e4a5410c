"""A test or bench process killed outright (SIGKILL: no cleanup runs) takes its stack's servers with it.

The real-time TestStack starts the Temporal dev server itself, with a parent-death signal, as `rectify up` does; the
SDK's own start gave it none, so a killed bench left that server running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psutil

STACK = textwrap.dedent(
    """
    import asyncio, logging
    from rectify import logs
    from rectify.devstack import TestStack

    logs.configure(logging.WARNING)

    async def main() -> None:
        async with TestStack(time_skipping=False):
            print("up", flush=True)
            await asyncio.sleep(600)

    asyncio.run(main())
    """
)


def test_a_killed_process_leaves_no_temporal_or_postgres_server() -> None:
    proc = subprocess.Popen([sys.executable, "-c", STACK], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert "up\n" in iter(proc.stdout.readline, ""), "the stack did not start"
        servers = [p for p in psutil.Process(proc.pid).children(recursive=True) if p.name() in ("temporal", "postgres")]
        assert {p.name() for p in servers} == {"temporal", "postgres"}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        _gone, alive = psutil.wait_procs(servers, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    for p in alive:  # not to leave them to the next test
        p.kill()
    assert not alive, f"left running after SIGKILL: {[(p.pid, p.name()) for p in alive]}"


def test_the_stack_stops_its_servers_when_it_ends() -> None:
    ended = STACK.replace("await asyncio.sleep(600)", "pass") + (
        "import psutil; print('left', sorted(p.name() for p in psutil.Process().children(recursive=True)))\n"
    )
    done = subprocess.run([sys.executable, "-c", ended], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "up\nleft []\n" in done.stdout, done.stdout
