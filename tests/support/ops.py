"""What the operations tests share: processes configured only by environment variables (as an operator runs
them), a local OTLP/HTTP collector that keeps the spans it receives, and a Prometheus scrape."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

PYTHON = sys.executable


def process_env(env: dict[str, str]) -> dict[str, str]:
    """Exactly `env`, plus what any process needs (PATH, HOME, LANG): nothing else of the test's environment."""
    return {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ} | env


def started(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python -m <args>` configured only by `env`, its output kept in `log`."""
    with log.open("ab") as sink:
        return subprocess.Popen([PYTHON, "-m", *args], env=process_env(env), stdout=sink, stderr=subprocess.STDOUT)


def stopped(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    """Send `sig` and wait; a process that does not leave in time is killed (and the test fails on its code)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


@contextlib.contextmanager
def kept_running(*procs: subprocess.Popen) -> Iterator[None]:
    """Whatever happens in the block, the processes are gone after it."""
    try:
        yield
    finally:
        for proc in procs:
            stopped(proc, timeout=30)


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def wait_until(check: Any, seconds: float, what: str, *logs: Path) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {seconds:.0f} s\n" + "\n---\n".join(tail(log) for log in logs))


def scrape(url: str) -> dict[str, list]:
    """A Prometheus endpoint's families, read with prometheus_client's own parser (None for a closed port)."""
    text = httpx.get(url, timeout=5).text
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


@dataclass
class OtlpCollector:
    """An OTLP/HTTP traces endpoint (protobuf) on a free port; keeps every span with its service's name."""

    spans: list[tuple[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def start(self) -> OtlpCollector:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    names = [a.value.string_value for a in resource.resource.attributes if a.key == "service.name"]
                    for scope in resource.scope_spans:
                        collector.spans += [(names[0] if names else "", s.name) for s in scope.spans]
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
