"""Running the API: uvicorn inside the caller's event loop, stopped with it (`rectify up`, `rectify api`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from rectify.api.app import create_app
from rectify.client import RectifyClient
from rectify.web.server import stop as stop_web


@contextlib.asynccontextmanager
async def serving(
    client: RectifyClient,
    evidence_dir: Path,
    host: str,
    port: int,
    *,
    web_secret: str | None = None,
    rate: float = 20.0,
    burst: int = 60,
) -> AsyncIterator[str]:
    """The API and the web pages on host:port until the block ends; yields its base URL.

    `web_secret` signs the pages' session cookies (Settings.resolved_web_secret()); every replica needs the same.
    `rate` and `burst`: each caller's limit, shared by every replica through the store.
    """
    app = create_app(client, evidence_dir=evidence_dir, rate=rate, burst=burst)
    if web_secret:
        app.state.web.set_secret(web_secret)
    async with serving_app(app, host, port) as url:
        yield url


@contextlib.asynccontextmanager
async def serving_app(app: FastAPI, host: str, port: int) -> AsyncIterator[str]:
    """An app already built (a test's, with its own settings) on host:port until the block ends."""
    # log_config=None: uvicorn's own records go to the root logger, through rectify.logs' redaction.
    # Requests still waiting when the block ends get 2 s: a command stuck on a case must not hold up Ctrl-C.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, log_config=None, timeout_graceful_shutdown=2
    )
    # While it serves in the main thread, uvicorn takes Ctrl-C itself, stops, and raises it again for the caller.
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (the port is taken, …)
            raise OSError(f"the API could not listen on {host}:{port}")
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        await stop_web(app)  # the pages' live streams end first, so no open stream holds up the shutdown
        server.should_exit = True
        await task
