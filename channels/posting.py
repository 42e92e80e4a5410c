"""One JSON POST, timed and judged: the part the webhook and both group robots share.

Every failure becomes an `Attempt`: a timeout, a refused connection or a 5xx/429/408/409/425 may pass
(retryable); any other status outside 2xx will not (permanent), redirects included (a notice is never
re-sent to where a redirect points). A robot answers HTTP 200 with its own error code in the body:
`robot_verdict` reads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx

from rectify.channels.outcome import Attempt, Outcome, Stopwatch

#: Connect within 5 s, and no single read or write waits longer than 10 s.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0, pool=5.0)
#: 409: a request with the same Idempotency-Key is still being processed by the receiver.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})

Verdict = Callable[[httpx.Response], tuple[Outcome, str]]


def json_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes posted (and, for webhooks, signed): UTF-8 JSON, keys sorted, no spaces."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


async def post_json(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    watch: Stopwatch,
    verdict: Verdict | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> Attempt:
    """POST `body` to `url`; the attempt's outcome from the status, then from `verdict` on a 2xx answer."""
    sent = {"Content-Type": "application/json; charset=utf-8", **headers}
    try:
        response = await http.post(url, content=body, headers=sent, timeout=timeout, follow_redirects=False)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:  # the channel's address, not the far end
        return watch.attempt(Outcome.PERMANENT, reason=f"bad URL: {error}")
    except httpx.TimeoutException as error:
        return watch.attempt(Outcome.RETRYABLE, reason=f"timeout: {type(error).__name__}")
    except httpx.TransportError as error:  # refused, reset, DNS, TLS handshake
        return watch.attempt(Outcome.RETRYABLE, reason=f"{type(error).__name__}: {error}")
    status = response.status_code
    if 200 <= status < 300:
        if verdict is None:
            return watch.attempt(Outcome.DELIVERED, status=status)
        outcome, reason = verdict(response)
        return watch.attempt(outcome, status=status, reason=reason)
    retryable = status >= 500 or status in RETRYABLE_STATUS
    reason = f"HTTP {status}: {response.text[:200]}".strip()
    return watch.attempt(
        Outcome.RETRYABLE if retryable else Outcome.PERMANENT,
        status=status,
        reason=reason,
        retry_after_s=retry_after(response) if retryable else None,
    )


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (its date form is rare from robots and webhooks, and read as absent)."""
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def robot_verdict(retryable_codes: Collection[int]) -> Verdict:
    """A group robot's answer: `{"errcode": 0, "errmsg": "ok"}` is delivered, any other code a failure."""

    def judge(response: httpx.Response) -> tuple[Outcome, str]:
        try:
            answer = response.json()
            code = int(answer["errcode"])
        except (ValueError, KeyError, TypeError):
            return Outcome.RETRYABLE, f"unreadable robot answer: {response.text[:200]}"
        if code == 0:
            return Outcome.DELIVERED, ""
        reason = f"errcode {code}: {str(answer.get('errmsg', ''))[:200]}"
        return (Outcome.RETRYABLE if code in retryable_codes else Outcome.PERMANENT), reason

    return judge
