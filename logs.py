"""Structured logs (structlog) for the entry points: key-value lines on stderr, so stdout stays for results.

Nothing secret or personal reaches a log line: tracebacks are plain text without local variables
(structlog's default rich traceback prints every frame's locals: request bodies, keys, contacts), and
`redact` removes API keys, bearer tokens, phone numbers and e-mail addresses from every value,
exception text included. Records from the standard `logging` module (uvicorn, Temporal) go through
the same processors.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog

#: Field names whose whole value is a secret or a contact, whatever it looks like.
SECRET_FIELDS = frozenset(
    {
        "api_key",
        "authorization",
        "password",
        "secret",
        "token",
        "email",
        "phone",
        "first_name",
        "last_name",
        "device_id",
        "account_id",
        "x_api_key",
        "x-api-key",
        "contact",
    }
)
_PATTERNS = [
    # Our API keys: rk_<id>_<secret>. The id is no secret, but the whole key goes.
    (re.compile(r"\brk_[A-Za-z0-9]+_[A-Za-z0-9_\-]+"), "[api-key]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"), r"\1 [token]"),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"), "[email]"),
    # Chinese numbers: mobiles (1[3-9]x xxxx xxxx, with or without +86/0086), and any +86 number.
    (re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|00)86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?![0-9A-Za-z])"), "[phone]"),
    (re.compile(r"(?:\+|00)86[\s\-]?\d{2,4}[\s\-]?\d{3,4}[\s\-]?\d{3,4}(?![0-9A-Za-z])"), "[phone]"),
    # A reporter's follow link (web/follow.py) is theirs alone: whoever holds it answers 回访.
    (re.compile(r"/public/follow/[A-Za-z0-9_\-]+"), "/public/follow/[token]"),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return "[nested]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if redact_text(str(value)) == str(value) else "[phone]"
    if isinstance(value, Mapping):
        return {k: "[redacted]" if str(k).lower() in SECRET_FIELDS else _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return redact_text(repr(value)) if not hasattr(value, "isoformat") else value


def redact(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: every value of the event, nested and exception text included, redacted."""
    return {
        key: value
        if key in ("exc_info", "stack_info")
        else ("[redacted]" if key.lower() in SECRET_FIELDS else _clean(value))
        for key, value in event.items()
    }


def processors() -> list[Any]:
    """Shared by structlog's own loggers and by records from `logging`. Exceptions are formatted as plain
    text (no locals) before `redact`, so their text is redacted too."""
    return [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact,
    ]


def configure(level: int = logging.INFO, stream: Any = None) -> None:
    out = stream or sys.stderr
    renderer = structlog.dev.ConsoleRenderer(colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_rectify", False)]
    handler._rectify = True  # type: ignore[attr-defined]  # so a second configure() replaces, not adds
    root.addHandler(handler)  # the root keeps its level (WARNING unless someone set it)


def route_temporal_core() -> None:
    """Temporal's core (Rust) writes its own warnings to stdout, where `--json` results go: send them to the
    `temporalio.core` logger instead, through the lines above. Call once, before any Temporal client exists."""
    from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    forwarding = LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"), forwarding=forwarding
    )
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=logging_config)), error_if_already_set=False)
