"""Browser tests: Debian's Chromium driven by pytest-playwright, against a real stack and the web server.

The stack (embedded PostgreSQL, Temporal's time-skipping server, the in-process worker) and uvicorn run in
a thread with its own event loop, so the tests use pytest-playwright's synchronous fixtures; `Site.run`
runs a coroutine on that loop. Everything stops when the module's tests end, failures included.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from rectify.api.app import create_app
from rectify.api.serve import serving_app
from rectify.devstack import EmbeddedPostgres, TestStack, free_port
from rectify.web.context import Web
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, Site, seed


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's chromium by its path: `playwright install` would download a browser, which cannot work here."""
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser tests need Debian's chromium and fonts-noto-cjk: `make test` installs them as root, "
            "or run `sudo apt-get install chromium fonts-noto-cjk`"
        )
    return {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def site(pg: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    evidence_dir = tmp_path_factory.mktemp("web-evidence")
    holder: dict[str, Any] = {}
    ready = threading.Event()

    async def serve() -> None:
        stop = holder["stop"] = asyncio.Event()
        async with TestStack(pg=pg) as stack:
            app = create_app(stack.client, evidence_dir=evidence_dir)
            web: Web = app.state.web
            web.set_secret(secrets.token_urlsafe(32))
            cases = await seed(stack, web, evidence_dir)
            # The time-skipping server's clock ran ahead while seeding; the pages count down on that clock.
            ahead = await stack.env.get_current_time() - datetime.now(UTC)
            web.clock = lambda: datetime.now(UTC) + ahead
            async with serving_app(app, "127.0.0.1", free_port()) as url:
                holder["site"] = Site(url, asyncio.get_running_loop(), stack, web, cases)
                ready.set()
                await stop.wait()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # shown by the fixture in the test's thread
            holder["error"] = error
        finally:
            ready.set()

    thread = threading.Thread(target=main, name="web-stack", daemon=True)
    thread.start()
    ready.wait(timeout=600)
    if "site" not in holder:
        thread.join(timeout=60)
        raise RuntimeError("the stack and web server did not start") from holder.get("error")
    site: Site = holder["site"]
    try:
        yield site
    finally:
        site.loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=120)
        if "error" in holder:
            raise holder["error"]
