"""Operations endpoints of every API replica: `/livez` (the process answers), `/readyz` (PostgreSQL and
Temporal answer, for a load balancer or an orchestrator) and `/metrics` (Prometheus text format).

/metrics has the HTTP requests by route (count and latency) of this replica, and the business gauges of the
whole system read from the store at scrape time: cases by status, open cases overdue by rung, the outbox's
backlog, deliveries pending, failed notices (dead letters) and the age of the last checkpoint.
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from rectify.domain.types import OPEN_STATUSES
from rectify.store import ops

#: Each readiness check gets this long before it counts as down.
CHECK_TIMEOUT_S = 2.0
#: Paths a load balancer or a scraper calls: never rate-limited.
OPS_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("rectify.api")


class Metrics:
    """One replica's registry (its own, so several apps in one process never share series)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        by_route = ["method", "route", "status"]
        self.requests = Counter("rectify_http_requests", "HTTP requests, by route", by_route, registry=registry)
        self.latency = Histogram(
            "rectify_http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.cases = Gauge("rectify_cases", "Cases by status (the case list read model)", ["status"], registry=registry)
        self.overdue = Gauge(
            "rectify_cases_overdue", "Open cases past their deadline, by escalation level", ["level"], registry=registry
        )
        self.outbox = Gauge(
            "rectify_outbox_backlog",
            "Notices not yet filed in the inboxes (stage=inbox) or fanned out to the channels (stage=channels)",
            ["stage"],
            registry=registry,
        )
        self.pending = Gauge("rectify_notice_deliveries_pending", "Deliveries not yet made", registry=registry)
        self.failed = Gauge("rectify_notices_failed", "Dead letters not yet retried", registry=registry)
        self.checkpoint_age = Gauge(
            "rectify_checkpoint_age_seconds", "Seconds since the last checkpoint (-1: none yet)", registry=registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    async def refresh(self, pool: object) -> None:
        figures = await ops.gauges(pool, {s.value for s in OPEN_STATUSES})  # type: ignore[arg-type]
        self.cases.clear()
        for status, n in figures["cases"].items():
            self.cases.labels(status).set(n)
        self.overdue.clear()
        for level, n in figures["overdue"].items():
            self.overdue.labels(str(level)).set(n)
        self.outbox.labels("inbox").set(figures["inbox_backlog"])
        self.outbox.labels("channels").set(figures["channels_backlog"])
        self.pending.set(figures["deliveries_pending"])
        self.failed.set(figures["notices_failed"])
        age = figures["checkpoint_age_s"]
        self.checkpoint_age.set(-1 if age is None else age)


def route_of(request: Request) -> str:
    """The route's template (`/v1/cases/{case_id}`), so one series stands for every case; `unmatched` for a 404."""
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "live"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    client = request.app.state.api.client
    checks = await asyncio.gather(
        _check(ops.ping(client.store.pool)),
        _check(client.temporal_answers()),
    )
    report = dict(zip(("postgres", "temporal"), checks, strict=True))
    ready = all(v == "ok" for v in checks)
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": report}, 200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    found: Metrics = request.app.state.metrics
    try:
        await asyncio.wait_for(found.refresh(request.app.state.api.client.store.pool), CHECK_TIMEOUT_S * 2)
    except Exception as error:  # the database away: the replica's own series still go out, the gauges stale
        log.warning("api.metrics_stale", error=f"{type(error).__name__}: {error}")
    return Response(generate_latest(found.registry), media_type=CONTENT_TYPE_LATEST)


async def _check(call: object) -> str:
    try:
        await asyncio.wait_for(call, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:200] or type(error).__name__
    return "ok"
