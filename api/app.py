"""The HTTP API (FastAPI on uvicorn): Open311 GeoReport v2 intake, the units' /v1 API, evidence.

Around every request: a request id, a structured access log (never contact details or query
strings), a body size limit and a per-key (or per-address) rate limit. Client mistakes get a 4xx
naming the field; nothing a client sends produces a 5xx.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rectify.api import open311, v1
from rectify.api.render import errors
from rectify.api.service import ApiService
from rectify.client import RectifyClient
from rectify.web.server import install as install_web

log = structlog.get_logger("rectify.api")
MAX_BODY_BYTES = 11 * 1024 * 1024  # a 10 MiB photo and its form around it


class RateLimiter:
    """A token bucket per caller: `rate` requests a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = defaultdict(lambda: (float(burst), time.monotonic()))

    def allow(self, who: str) -> bool:
        tokens, then = self._buckets[who]
        now = time.monotonic()
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[who] = (tokens, now)
            return False
        self._buckets[who] = (tokens - 1, now)
        return True


def _format_of(request: Request) -> str:
    return "xml" if request.url.path.endswith(".xml") else "json"


def _caller_id(request: Request) -> str:
    presented = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    key_id = presented.split("_")[1] if presented.startswith("rk_") and presented.count("_") >= 2 else None
    return f"key:{key_id}" if key_id else f"addr:{request.client.host if request.client else '?'}"


def create_app(
    client: RectifyClient, *, evidence_dir: Path, rate: float = 20.0, burst: int = 60,
    max_evidence_bytes: int = 10 * 1024 * 1024,
) -> FastAPI:  # fmt: skip
    app = FastAPI(
        title="Rectify API",
        version="1",
        description="Open311 GeoReport v2 intake and the units' API for rectification cases (问题整改案件).",
    )
    app.state.api = ApiService(client, evidence_dir, max_evidence_bytes)
    app.state.city = client.city
    limiter = RateLimiter(rate, burst)
    app.include_router(open311.router)
    app.include_router(v1.router)
    install_web(app, client, evidence_dir)  # the staff's pages at /, on the same port

    @app.middleware("http")
    async def guard(request: Request, call_next):
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        started = time.monotonic()
        fmt, open311_path = _format_of(request), request.url.path.startswith("/open311/")
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            response = _error(open311_path, fmt, 413, f"request body larger than {MAX_BODY_BYTES} bytes")
        elif not limiter.allow(_caller_id(request)):
            response = _error(open311_path, fmt, 429, "too many requests; slow down")
        else:
            try:
                response = await call_next(request)
            except Exception as error:  # a bug on our side: logged in full, answered without internals
                log.exception("api.error", request_id=request_id, path=request.url.path)
                detail = f"internal error ({type(error).__name__}); request {request_id}"
                response = _error(open311_path, fmt, 500, detail)
        response.headers["x-request-id"] = request_id
        log.info("api.request", request_id=request_id, method=request.method, path=request.url.path,
                 status=response.status_code, ms=round((time.monotonic() - started) * 1000, 1),
                 caller=_caller_id(request))  # fmt: skip
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {"loc": ("body",), "msg": "invalid"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path", "header", "form"))
        message = f"{field or 'request'}: {first['msg']}"
        return _error(request.url.path.startswith("/open311/"), _format_of(request), 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        return _error(request.url.path.startswith("/open311/"), _format_of(request), error.status_code, error.detail)

    return app


def _error(open311_path: bool, fmt: str, status: int, detail: object) -> Response:
    if open311_path:
        return errors(fmt, status, detail if isinstance(detail, str) else str(detail))
    body = detail if isinstance(detail, dict) else {"message": str(detail)}
    return JSONResponse({"error": body}, status_code=status)
