"""Adding the pages to the API's FastAPI app: routes, static files, the session middleware, error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rectify.client import RectifyClient
from rectify.web.accounts import Throttle
from rectify.web.context import HERE, SignInRequired, Web, WebError, sign_in_handler, web_error_handler, web_middleware


def install(
    app: FastAPI,
    client: RectifyClient,
    evidence_dir: Path,
    *,
    secret: str | None = None,
    throttle: Throttle | None = None,
) -> Web:
    """Serve the pages at `/` of `app`. Without `secret`, sessions end with the process (see `Web.set_secret`)."""
    from rectify.web import cases, leaders, public, signin

    web = Web(client, evidence_dir, secret=secret, throttle=throttle)
    app.state.web = web
    app.include_router(signin.router)
    app.include_router(cases.router)
    app.include_router(leaders.router)
    app.include_router(public.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(WebError, web_error_handler)
    app.add_exception_handler(SignInRequired, sign_in_handler)
    app.middleware("http")(web_middleware)
    return web


__all__ = ["Throttle", "Web", "install"]
