"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test.

The run leaves through `os._exit` (temporalio/sdk-python#300: a process that used a Temporal client
may abort at interpreter exit), after the servers are stopped and the summary is printed.

Under pytest-xdist (`make test` runs `-n 2 --dist loadscope`) every worker is a session of its own: its own
PostgreSQL, Temporal servers, receivers and Chromium, each on a free port and in a folder of its own. A worker
leaves through `os._exit` too, after its session has stopped its servers and sent its last report to the
controller (xdist sends it from pytest_sessionfinish, before pytest_unconfigure); the controller's own exit
status is the run's.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres
from tests.support.starts import SETTING, configured_start

_exit_status = 0
_own_basetemp: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """A malformed `RECTIFY_TEST_START` stops the run here, before any test, with what to write instead."""
    global _exit_status, _own_basetemp
    if hasattr(config.option, "loadscopereorder"):
        # xdist's loadscope would send the modules with the most tests first, browser modules among them; in
        # collection order (pytest_collection_modifyitems) each worker runs its browser modules last.
        config.option.loadscopereorder = False
    if os.geteuid() == 0 and not config.option.basetemp:
        # As root, PostgreSQL runs as another user, which needs to pass through the temporary folders. Each pytest
        # session makes /tmp/pytest-of-root private again at its start, which would lock out the servers of a run
        # already going; a folder of this run's own is left alone by other runs.
        _own_basetemp = Path(tempfile.mkdtemp(prefix="rectify-pytest-"))
        config.option.basetemp = str(_own_basetemp)
    try:
        configured_start(load_city(DEFAULT_CITY_DIR).policy.calendar)
    except pytest.UsageError as error:
        # pytest prints a usage error after unconfiguring, and pytest_unconfigure below leaves first.
        print(f"ERROR: {error}", file=sys.stderr)
        _exit_status = int(pytest.ExitCode.USAGE_ERROR)
        raise


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests last. Playwright's sync API marks its own event loop as running in this thread between
    calls (playwright/_impl/_greenlets.py), for as long as its session fixture lives, and pytest-asyncio cannot
    start another loop after that. Under xdist each worker runs its modules in this order (pytest_configure turns
    off loadscope's reordering by size, which would put a browser module before the others)."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/browser/"))


def pytest_report_header(config: pytest.Config) -> str:
    calendar = load_city(DEFAULT_CITY_DIR).policy.calendar
    return f"simulations start from {configured_start(calendar)} ({SETTING}; by default the coming Monday)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _own_basetemp is not None and _exit_status == 0:
        shutil.rmtree(_own_basetemp, ignore_errors=True)  # a failed run's folders stay, to look into
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
