"""A worker configured only by environment variables, as an operator runs it: the Temporal SDK's metrics and
the relay's counters on its own Prometheus port, its spans sent to an OTLP/HTTP collector, a clean stop."""

from __future__ import annotations

import uuid
from pathlib import Path

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.city.sampling import point_in
from rectify.client import RectifyClient
from rectify.config import Settings
from rectify.devstack import TemporalDevServer, free_port
from rectify.domain.types import Channel
from tests.support.ops import OtlpCollector, kept_running, scrape, started, stopped, tail, wait_until
from tests.support.scenario import REPORTER


def has_metrics(url: str) -> dict | None:
    try:
        return scrape(url)
    except Exception:
        return None


async def test_a_worker_exports_sdk_metrics_and_relay_counters_and_sends_its_traces(
    dev_server: TemporalDevServer, fresh_database_url: str, tmp_path: Path
) -> None:
    collector = OtlpCollector().start()
    metrics = f"http://127.0.0.1:{free_port()}/metrics"
    queue = f"telemetry-{uuid.uuid4().hex[:8]}"
    env = {
        "RECTIFY_TEMPORAL_ADDRESS": dev_server.address,
        "RECTIFY_DATABASE_URL": fresh_database_url,
        "RECTIFY_TASK_QUEUE": queue,
        "RECTIFY_DATA_DIR": str(tmp_path / "data"),
        "RECTIFY_WORKER_IDENTITY": "worker-telemetry",
        "RECTIFY_WORKER_METRICS": metrics.removeprefix("http://").removesuffix("/metrics"),
        "RECTIFY_OTLP_ENDPOINT": collector.endpoint,
    }
    log = tmp_path / "worker.log"
    worker = started(["rectify.worker"], env, log)
    try:
        with kept_running(worker):
            wait_until(lambda: has_metrics(metrics), 120, "the worker's metrics port", log)
            city = load_city(DEFAULT_CITY_DIR)
            settings = Settings(temporal_address=dev_server.address, database_url=fresh_database_url, task_queue=queue)
            client = await RectifyClient.connect(settings, city)
            try:
                ref = await client.report(
                    idempotency_key=f"telemetry-{queue}",
                    category="street_vending",
                    description="占道经营",
                    location=point_in(city, "st_guanyinqiao"),
                    channel=Channel.HOTLINE,
                    actor=REPORTER,
                )
            finally:
                await client.close()
            assert ref.status == "dispatched"
            found = wait_until(
                lambda: (f := has_metrics(metrics)) and "rectify_notices_considered" in f and f,
                60,
                "the relay's counters",
                log,
            )
            assert any(name.startswith("temporal_") for name in found)  # the SDK's own series
            assert sum(s.value for s in found["rectify_notices_considered"]) >= 1  # the dispatch notice
            assert stopped(worker) == 0, tail(log)  # SIGTERM: a clean stop, traces flushed
        services = {service for service, _ in collector.spans}
        names = {name for _, name in collector.spans}
        assert services == {"rectify-worker"}, tail(log)
        assert any("CaseWorkflow" in name for name in names), names
    finally:
        collector.stop()
