"""Adding the pages to the API's FastAPI app: routes, static files, the session middleware, error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rectify.client import RectifyClient
from rectify.web.accounts import Throttle
from rectify.web.context import HERE, SignInRequired, Web, WebError, sign_in_handler, web_error_handler, web_middleware
from rectify.web.live import LiveHub


def install(
    app: FastAPI,
    client: RectifyClient,
    evidence_dir: Path,
    *,
    secret: str | None = None,
    throttle: Throttle | None = None,
) -> Web:
    """Serve the pages at `/` of `app`. Without `secret`, sessions end with the process (see `Web.set_secret`)."""
    from rectify.web import (
        actions,
        cases,
        command,
        exposure,
        follow,
        leaders,
        points,
        public,
        rounds,
        signin,
        snap,
        workbench,
    )

    web = Web(client, evidence_dir, secret=secret, throttle=throttle)
    app.state.web = web
    app.state.live = LiveHub(client.store.pool, client.store.database_url)
    app.include_router(signin.router)
    app.include_router(cases.router)
    app.include_router(command.router)
    app.include_router(actions.router)
    app.include_router(workbench.router)
    app.include_router(leaders.router)
    app.include_router(public.router)
    app.include_router(snap.router)
    app.include_router(follow.router)
    app.include_router(exposure.router)
    app.include_router(points.router)
    app.include_router(rounds.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(WebError, web_error_handler)
    app.add_exception_handler(SignInRequired, sign_in_handler)
    app.middleware("http")(web_middleware)
    app.router.lifespan_context = _closing_live(app.router.lifespan_context)
    return web


async def stop(app: FastAPI) -> None:
    """End the pages' live streams, before the server waits for its open requests to finish."""
    live: LiveHub | None = getattr(app.state, "live", None)
    if live is not None:
        await live.close()


def _closing_live(inner: Any) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            try:
                yield state
            finally:
                await stop(app)

    return lifespan


__all__ = ["Throttle", "Web", "install", "stop"]
