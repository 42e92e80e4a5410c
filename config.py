"""Configuration: one object, built at the edge (CLI, worker, API) from the environment.

Library code receives a `Settings`; it never reads `os.environ` itself. Unset addresses mean the
embedded stack under `.rectify/` (started by `rectify up`, which records its addresses there).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    #: How often the `rectify-checkpoint` Schedule runs the incremental verify and records a verified checkpoint.
    checkpoint_every: timedelta = timedelta(hours=1)
    #: Where `rectify up` and `rectify api` serve HTTP (Open311 and /v1).
    api_port: int = 8311
    #: The name a worker gives Temporal, recorded on every task it runs (default: pid@host).
    worker_identity: str | None = None
    #: Workflows a worker keeps in memory between their tasks; 0 turns off sticky queues, so each task of
    #: a workflow goes to whichever worker polls first (every task replays the history).
    workflow_cache: int = 1000
    #: Signs the web pages' session cookies (RECTIFY_WEB_SECRET): the same on every replica. Unset: a random
    #: secret kept in the data folder, for the embedded stack.
    web_secret: str | None = None

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
            checkpoint_every=timedelta(minutes=_positive_int(get("RECTIFY_CHECKPOINT_MINUTES") or "60")),
            api_port=_positive_int(get("RECTIFY_API_PORT") or "8311", "RECTIFY_API_PORT"),
            worker_identity=get("RECTIFY_WORKER_IDENTITY"),
            workflow_cache=_positive_int(get("RECTIFY_WORKFLOW_CACHE") or "1000", "RECTIFY_WORKFLOW_CACHE", least=0),
            web_secret=_web_secret(get("RECTIFY_WEB_SECRET")),
        )

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
