"""Configuration: one object, built at the edge (CLI, worker, API) from the environment.

Library code receives a `Settings`; it never reads `os.environ` itself. Unset addresses mean the
embedded stack under `.rectify/` (started by `rectify up`, which records its addresses there).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

DEFAULT_DATA_DIR = Path(".rectify")
STACK_FILE = "stack.json"
#: The Temporal task queue every worker polls and every workflow is started on, unless RECTIFY_TASK_QUEUE says.
TASK_QUEUE = "rectify-cases"
#: Where the embedded stack keeps the web pages' cookie secret when RECTIFY_WEB_SECRET is unset.
WEB_SECRET_FILE = "web-secret"
MIN_WEB_SECRET = 32


@dataclass(frozen=True)
class Settings:
    temporal_address: str | None = None
    namespace: str = "default"
    database_url: str | None = None
    city_dir: Path | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    task_queue: str = TASK_QUEUE
    temporal_tls: bool = False
    #: mTLS to a self-hosted cluster: the client's certificate and key (PEM), the CA that signed the server's
    #: certificate, and the name to check it against. Any of them turns TLS on.
    temporal_client_cert: bytes | None = field(default=None, repr=False)
    temporal_client_key: bytes | None = field(default=None, repr=False)
    temporal_server_ca: bytes | None = field(default=None, repr=False)
    temporal_server_name: str | None = None
    #: Temporal Cloud's API key (turns TLS on).
    temporal_api_key: str | None = field(default=None, repr=False)
    #: How often the `rectify-checkpoint` Schedule runs the incremental verify and records a verified checkpoint.
    checkpoint_every: timedelta = timedelta(hours=1)
    #: Where `rectify up` and `rectify api` serve HTTP (Open311 and /v1).
    api_port: int = 8311
    #: Each caller's (an API key's, or an address's) requests a second on average, and its burst; every API
    #: replica spends from the same bucket (RECTIFY_API_RATE, RECTIFY_API_BURST).
    api_rate: float = 20.0
    api_burst: int = 60
    #: The name a worker gives Temporal, recorded on every task it runs (default: pid@host).
    worker_identity: str | None = None
    #: Workflows a worker keeps in memory between their tasks; 0 turns off sticky queues, so each task of
    #: a workflow goes to whichever worker polls first (every task replays the history).
    workflow_cache: int = 1000
    #: Signs the web pages' session cookies (RECTIFY_WEB_SECRET): the same on every replica. Unset: a random
    #: secret kept in the data folder, for the embedded stack.
    web_secret: str | None = None
    #: The web pages' public address (RECTIFY_PUBLIC_URL): notices link to its case pages.
    public_url: str | None = None
    #: The channels file (RECTIFY_CHANNELS); unset: the city folder's channels.toml.
    channels_file: Path | None = None
    #: Where a worker serves the Temporal SDK's Prometheus metrics and its relay's counters (host:port); unset: off.
    worker_metrics: str | None = None
    #: OpenTelemetry tracing through temporalio.contrib.opentelemetry: an OTLP/HTTP endpoint
    #: (RECTIFY_OTLP_ENDPOINT, e.g. http://collector:4318/v1/traces); unset: off.
    otlp_endpoint: str | None = None
    #: Whether this worker relays notices to the channels (RECTIFY_NOTICE_RELAY=0 turns it off).
    notice_relay: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(*names: str) -> str | None:
            return next((env[n] for n in names if env.get(n)), None)

        return cls(
            temporal_address=get("RECTIFY_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS"),
            namespace=get("RECTIFY_NAMESPACE", "TEMPORAL_NAMESPACE") or "default",
            database_url=get("RECTIFY_DATABASE_URL", "DATABASE_URL"),
            city_dir=Path(p) if (p := get("RECTIFY_CITY")) else None,
            data_dir=Path(get("RECTIFY_DATA_DIR") or DEFAULT_DATA_DIR),
            task_queue=get("RECTIFY_TASK_QUEUE") or TASK_QUEUE,
            temporal_tls=(get("RECTIFY_TEMPORAL_TLS") or "").lower() in {"1", "true", "yes"},
            temporal_client_cert=_pem(env, "RECTIFY_TEMPORAL_TLS_CERT"),
            temporal_client_key=_pem(env, "RECTIFY_TEMPORAL_TLS_KEY"),
            temporal_server_ca=_pem(env, "RECTIFY_TEMPORAL_TLS_CA"),
            temporal_server_name=get("RECTIFY_TEMPORAL_TLS_SERVER_NAME"),
            temporal_api_key=(key.decode().strip() if (key := _given(env, "RECTIFY_TEMPORAL_API_KEY")) else None),
            checkpoint_every=timedelta(minutes=_positive_int(get("RECTIFY_CHECKPOINT_MINUTES") or "60")),
            api_port=_positive_int(get("RECTIFY_API_PORT") or "8311", "RECTIFY_API_PORT"),
            api_rate=_positive_float(get("RECTIFY_API_RATE") or "20", "RECTIFY_API_RATE"),
            api_burst=_positive_int(get("RECTIFY_API_BURST") or "60", "RECTIFY_API_BURST"),
            worker_identity=get("RECTIFY_WORKER_IDENTITY"),
            workflow_cache=_positive_int(get("RECTIFY_WORKFLOW_CACHE") or "1000", "RECTIFY_WORKFLOW_CACHE", least=0),
            web_secret=_web_secret(get("RECTIFY_WEB_SECRET")),
            public_url=get("RECTIFY_PUBLIC_URL"),
            channels_file=Path(p) if (p := get("RECTIFY_CHANNELS")) else None,
            worker_metrics=get("RECTIFY_WORKER_METRICS"),
            otlp_endpoint=get("RECTIFY_OTLP_ENDPOINT"),
            notice_relay=(get("RECTIFY_NOTICE_RELAY") or "1").lower() not in {"0", "false", "no", "off"},
        )

    def __post_init__(self) -> None:
        if (self.temporal_client_cert is None) != (self.temporal_client_key is None):
            raise ValueError(
                "RECTIFY_TEMPORAL_TLS_CERT and RECTIFY_TEMPORAL_TLS_KEY go together: give both (or their _FILE forms)"
            )

    @property
    def case_link_base(self) -> str:
        """Where the case pages are, for the links in notices."""
        return self.public_url or f"http://127.0.0.1:{self.api_port}"

    def resolved_web_secret(self) -> str:
        """The configured secret, or the data folder's own (made once, readable by its owner only)."""
        if self.web_secret:
            return self.web_secret
        path = self.data_dir / WEB_SECRET_FILE
        try:
            if len(kept := path.read_text().strip()) >= MIN_WEB_SECRET:
                return kept
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.unlink(missing_ok=True)  # an empty or cut-short file from an interrupted start
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secret + "\n")
        return secret

    @property
    def stack_file(self) -> Path:
        return self.data_dir / STACK_FILE

    def with_running_stack(self) -> Settings:
        """Fill unset addresses from the stack file a running `rectify up` wrote, if any."""
        if self.temporal_address and self.database_url:
            return self
        try:
            stack = json.loads(self.stack_file.read_text())
        except (OSError, ValueError):
            return self
        return replace(
            self,
            temporal_address=self.temporal_address or stack.get("temporal_address"),
            database_url=self.database_url or stack.get("database_url"),
            namespace=stack.get("namespace", self.namespace) if not self.temporal_address else self.namespace,
        )


def _given(env: Mapping[str, str], name: str) -> bytes | None:
    """The value of `name`, or the content of the file `name_FILE` names (a mounted secret); not both."""
    value, path = env.get(name), env.get(f"{name}_FILE")
    if value and path:
        raise ValueError(f"set {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise ValueError(f"{name}_FILE: cannot read {path}: {error.strerror}") from None
    return value.encode() if value else None


def _pem(env: Mapping[str, str], name: str) -> bytes | None:
    """A PEM certificate or key, from the variable or its _FILE."""
    data = _given(env, name)
    if data is not None and b"-----BEGIN " not in data:
        raise ValueError(f"{name}: not PEM (expected a -----BEGIN … block; for a file, set {name}_FILE)")
    return data


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be above 0, not {text}")
    return value


def _positive_int(text: str, name: str = "RECTIFY_CHECKPOINT_MINUTES", *, least: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")
    return value


def _web_secret(text: str | None) -> str | None:
    if text is not None and len(text) < MIN_WEB_SECRET:
        raise ValueError(f"RECTIFY_WEB_SECRET must be at least {MIN_WEB_SECRET} characters (it signs session cookies)")
    return text
