"""Telemetry of a process, as configured at the edge: the Temporal SDK's Prometheus metrics (a worker's own
port, RECTIFY_WORKER_METRICS) with the relay's counters beside them, and OpenTelemetry tracing through
`temporalio.contrib.opentelemetry` to an OTLP/HTTP collector (RECTIFY_OTLP_ENDPOINT). Both are off unless set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rectify.config import Settings

#: The relay's counters, as the worker exports them (each a RelayReport field, summed over rounds).
RELAY_COUNTERS = {
    "considered": "Outbox notices the relay considered for the channels",
    "sent": "Tries made to deliver a notice to a channel",
    "delivered": "Notices delivered to a channel",
    "failed": "Tries that failed and will be made again",
    "dead": "Deliveries given up (dead letters)",
    "held": "Deliveries held back by an open circuit",
}


def worker_runtime(settings: Settings) -> Any:
    """A Temporal runtime exporting the SDK's metrics in Prometheus format on `settings.worker_metrics`
    (None: the default runtime, no metrics)."""
    if not settings.worker_metrics:
        return None
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.worker_metrics)))


def relay_observer(runtime: Any) -> Callable[[Any], None] | None:
    """Adds each relay round's figures to counters on the runtime's meter (served with the SDK's metrics)."""
    if runtime is None:
        return None
    meter = runtime.metric_meter
    counters = {name: meter.create_counter(f"rectify_notices_{name}", text) for name, text in RELAY_COUNTERS.items()}

    def observe(report: Any) -> None:
        for name, counter in counters.items():
            if value := getattr(report, name):
                counter.add(value)

    return observe


def tracing_interceptors(settings: Settings, service: str) -> list[Any]:
    """A TracingInterceptor sending spans to the configured OTLP/HTTP endpoint (none when unset). The tracer
    provider is this process's own, named `service` (rectify-worker, rectify-api)."""
    if not settings.otlp_endpoint:
        return []
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from temporalio.contrib.opentelemetry import TracingInterceptor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    global _provider
    _provider = provider
    tracer = trace.get_tracer("rectify", tracer_provider=provider)
    # Workflow spans even when the starter sent no trace (the API, the CLI and Schedules may run untraced).
    return [TracingInterceptor(tracer, always_create_workflow_spans=True)]


_provider: Any = None


def flush_traces(timeout_s: float = 5.0) -> None:
    """Send the spans still buffered (at exit: the batch processor would otherwise drop them)."""
    if _provider is not None:
        _provider.force_flush(int(timeout_s * 1000))
