"""The HTTP API (FastAPI on uvicorn): Open311 GeoReport v2 intake, the units' /v1 API, evidence.

Around every request: a request id, a structured access log (never contact details or query
strings), a body size limit, a per-key (or per-address) rate limit, and a refusal of paths and
queries holding text that cannot be stored. Client mistakes get a 4xx naming the field; a fault of
ours gets a 500 that says only its request id (the traceback goes to the log, redacted).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from rectify.api import open311, ops, rounds, v1
from rectify.api.inputs import first_unstorable
from rectify.api.render import error_response
from rectify.api.service import ApiService
from rectify.client import RectifyClient
from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.store import rate_limits
from rectify.web.server import install as install_web

log = structlog.get_logger("rectify.api")
MAX_BODY_BYTES = EVIDENCE_MAX_BYTES + 1024 * 1024  # the largest photo and its form around it


class RateLimiter:
    """A token bucket per caller, `rate` requests a second on average, bursts up to `burst`, kept in PostgreSQL
    (store/rate_limits.py): every API replica spends from the same bucket, so together they allow what one does.

    A database that does not answer lets the request through (logged): its own work will then fail or not,
    and a limit must not turn a database blip into refusals of every caller.
    """

    #: Buckets idle this long are forgotten (they would be full again); looked for at most this often.
    PRUNE_EVERY_S = 600.0

    def __init__(self, pool: asyncpg.Pool, rate: float, burst: int) -> None:
        self.pool, self.rate, self.burst = pool, rate, burst
        self._next_prune = time.monotonic() + self.PRUNE_EVERY_S
        self._pruning: asyncio.Task | None = None

    async def wait(self, who: str) -> float:
        """0 when `who` may go now (a token is spent), else the seconds until a token is there."""
        if time.monotonic() >= self._next_prune and (self._pruning is None or self._pruning.done()):
            self._next_prune = time.monotonic() + self.PRUNE_EVERY_S
            self._pruning = asyncio.create_task(self._prune())
        try:
            return await rate_limits.take(self.pool, who, self.rate, self.burst)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("api.rate_limit_unavailable", error=f"{type(error).__name__}: {error}")
            return 0.0

    async def _prune(self) -> None:
        try:
            await rate_limits.prune(self.pool, self.PRUNE_EVERY_S * 6)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("api.rate_prune_failed", error=f"{type(error).__name__}: {error}")


def _caller_id(request: Request) -> str:
    presented = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    key_id = presented.split("_")[1] if presented.startswith("rk_") and presented.count("_") >= 2 else None
    return f"key:{key_id[:16]}" if key_id else f"addr:{request.client.host if request.client else '?'}"


def create_app(
    client: RectifyClient,
    *,
    evidence_dir: Path,
    rate: float = 20.0,
    burst: int = 60,
    max_evidence_bytes: int = EVIDENCE_MAX_BYTES,
) -> FastAPI:
    app = FastAPI(
        title="Rectify API",
        version="1",
        description="Open311 GeoReport v2 intake and the units' API for rectification cases (问题整改案件).",
    )
    app.state.api = ApiService(client, evidence_dir, max_evidence_bytes)
    app.state.city = client.city
    limiter = RateLimiter(client.store.pool, rate, burst)
    app.state.metrics = ops.Metrics()
    app.include_router(open311.router)
    app.include_router(v1.router)
    app.include_router(rounds.router)
    app.include_router(ops.router)
    app.openapi = lambda: app.openapi_schema or _document(app, client.city)  # type: ignore[method-assign]
    install_web(app, client, evidence_dir)  # the staff's pages at /, on the same port

    @app.middleware("http")
    async def guard(request: Request, call_next):
        request_id = uuid.uuid4().hex[:16]
        started = time.monotonic()
        path = request.scope["path"]  # percent-decoded: %00 arrives as NUL
        length = request.headers.get("content-length")
        unstorable = first_unstorable([("path", path), *request.query_params.multi_items()])
        if length and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            response = error_response(path, 413, f"request body larger than {MAX_BODY_BYTES} bytes")
        elif path not in ops.OPS_PATHS and (wait := await limiter.wait(_caller_id(request))):
            retry = {"Retry-After": str(max(1, math.ceil(wait)))}
            response = error_response(path, 429, "too many requests; slow down", retry)
        elif unstorable:
            response = error_response(path, 400, unstorable)
        else:
            try:
                response = await call_next(request)
            except Exception:  # a fault of ours: the traceback to the log (redacted), the client only the id
                log.exception("api.error", request_id=request_id, method=request.method, path=path)
                response = error_response(path, 500, f"internal error; request {request_id}")
        response.headers["x-request-id"] = request_id
        took = time.monotonic() - started
        app.state.metrics.observe(request.method, ops.route_of(request), response.status_code, took)
        log.info(
            "api.request",
            request_id=request_id,
            method=request.method,
            path=path,
            status=response.status_code,
            ms=round((time.monotonic() - started) * 1000, 1),
            caller=_caller_id(request),
        )
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        return error_response(request.url.path, 400, validation_message(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        headers = error.headers
        if error.status_code == 405:  # GET and POST of one path are two routes: Allow names both
            path = request.scope["path"]
            methods = {
                m for r in app.routes if isinstance(r, APIRoute) and r.path_regex.match(path) for m in r.methods or ()
            }
            headers = {"Allow": ", ".join(sorted(methods))}
        return error_response(request.scope["path"], error.status_code, error.detail, headers)

    return app


def _document(app: FastAPI, city: object) -> dict:
    """The OpenAPI document, told what only this city knows: its service codes, and the box around its
    district that a report's point must lie in (the district itself is a polygon; a point in the box but
    outside it still gets a 400 naming the rule)."""
    app.openapi_schema = schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    form = schema["components"]["schemas"]["ReportForm"]["properties"]
    form["service_code"]["enum"] = sorted(city.policy.categories)  # type: ignore[attr-defined]
    min_lon, min_lat, max_lon, max_lat = city.router.bounds  # type: ignore[attr-defined]
    form["lat"].update(minimum=min_lat, maximum=max_lat)
    form["long"].update(minimum=min_lon, maximum=max_lon)
    for path in schema["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _never_null(parameter["schema"])
    return schema


def _never_null(schema: dict) -> dict:
    """An optional query or header parameter is a value or absent, never null: `X | None` documents as X."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1 or len(schema["anyOf"]) != 2:
        return schema
    return {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}


def validation_message(problems: Sequence[Any]) -> str:
    """'field: what is wrong' for the first problem, never echoing the input."""
    first = problems[0] if problems else {"loc": ("body",), "msg": "invalid"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
    field = ".".join(loc)
    return f"{field or 'request'}: {first.get('msg', 'invalid')}"
