"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test.

The run leaves through `os._exit` (temporalio/sdk-python#300: a process that used a Temporal client
may abort at interpreter exit), after the servers are stopped and the summary is printed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rectify.devstack import EmbeddedPostgres

_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    """One PostgreSQL server for the whole run, stopped when the run ends (failures and Ctrl-C too)."""
    root = Path(tempfile.mkdtemp(prefix="rectify-test-pg-"))
    server = EmbeddedPostgres(root / "data", fsync=False).start()  # fsync off: test data is thrown away
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def fresh_database_url(pg: EmbeddedPostgres) -> AsyncIterator[str]:
    """An empty database of its own for each test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield await pg.create_database(name)
    await pg.drop_database(name)
