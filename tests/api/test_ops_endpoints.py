"""/livez, /readyz and /metrics of an API replica over a real stack: readiness follows PostgreSQL and Temporal,
the metrics parse with prometheus_client's own parser and hold the named series, and neither is rate-limited."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from rectify.client import RectifyClient
from rectify.devstack import EmbeddedPostgres
from rectify.domain.types import OPEN_STATUSES
from rectify.store import ops
from tests.support.api import api_stack


def series(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


async def test_metrics_parse_and_hold_the_http_and_business_series(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    async with api_stack(pg, tmp_path) as api:
        case = await api.report()
        assert (
            await api.http.get(f"/v1/cases/{case['service_request_id']}", headers=api.auth("lead"))
        ).status_code == 200
        assert (await api.http.get("/v1/cases/no-such-case", headers=api.auth("lead"))).status_code == 404
        response = await api.http.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        found = series(response.text)
        requests = {
            (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
            for s in found["rectify_http_requests"]
            if s.name.endswith("_total")
        }
        assert requests[("POST", "/open311/v2/requests.{fmt}", "200")] == 1
        assert requests[("GET", "/v1/cases/{case_id}", "200")] == 1  # by the route's template, not the case id
        assert requests[("GET", "/v1/cases/{case_id}", "404")] == 1
        assert any(
            s.name == "rectify_http_request_duration_seconds_count"
            for s in found["rectify_http_request_duration_seconds"]
        )
        assert {s.labels["status"]: s.value for s in found["rectify_cases"]} == {"dispatched": 1}
        assert {s.labels["stage"] for s in found["rectify_outbox_backlog"]} == {"inbox", "channels"}
        assert [s.value for s in found["rectify_notices_failed"]] == [0]
        assert [s.value for s in found["rectify_notice_deliveries_pending"]] == [0]
        assert [s.value for s in found["rectify_checkpoint_age_seconds"]] == [-1]  # no checkpoint yet
        assert "rectify_cases_overdue" in found
        later = datetime(2100, 1, 1, tzinfo=UTC)  # every deadline has passed by then
        figures = await ops.gauges(api.stack.store.pool, {s.value for s in OPEN_STATUSES}, later)
        assert figures["overdue"] == {0: 1}


async def test_ready_means_postgres_and_temporal_answer_and_health_checks_are_never_rate_limited(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    async with api_stack(pg, tmp_path, rate=0.001, burst=1) as api:
        assert (await api.http.get("/livez")).json() == {"status": "live"}
        ready = await api.http.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {
            "status": "ready",
            "checks": {"postgres": "ok", "temporal": "ok"},
        }
        for _ in range(5):  # a load balancer polls far faster than the callers' limit
            assert (await api.http.get("/readyz")).status_code == 200
            assert (await api.http.get("/metrics")).status_code == 200
        assert (await api.http.get("/open311/v2/services.json")).status_code == 200  # the burst of one
        assert (await api.http.get("/open311/v2/services.json")).status_code == 429  # the limit itself holds
        service = api.app.state.api  # type: ignore[attr-defined]
        gone = await Client.connect("127.0.0.1:1", lazy=True)  # a Temporal that does not answer
        kept, service.client = (
            service.client,
            RectifyClient(gone, api.stack.store, api.stack.city, api.stack.task_queue),
        )
        try:
            down = await api.http.get("/readyz")
        finally:
            service.client = kept
        assert down.status_code == 503
        body = down.json()
        assert (
            body["status"] == "not ready" and body["checks"]["postgres"] == "ok" and body["checks"]["temporal"] != "ok"
        )
