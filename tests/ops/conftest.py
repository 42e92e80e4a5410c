"""One Temporal dev server for the operations tests, started as an "external" service and stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rectify.devstack import TemporalDevServer


@pytest.fixture(scope="package")
def dev_server() -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(None).start()
    try:
        yield server
    finally:
        server.stop()
