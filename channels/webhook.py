"""Signed webhooks: a JSON POST the receiver can check came from us, unaltered and recently (docs/webhooks.md).

Headers:
- `Idempotency-Key: <notice id>`: the same on every retry of a notice, so a receiver keeps it once;
- `X-Rectify-Timestamp: <unix seconds>`;
- `X-Rectify-Signature: v1=<hex>`, the HMAC-SHA256, keyed with the channel's secret, of the ASCII
  timestamp, a full stop, and the body's exact bytes: `f"{timestamp}.".encode() + body`.
A receiver recomputes it over the raw body, compares in constant time, and refuses a timestamp more than
`REPLAY_WINDOW` away from its own clock, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import timedelta

import httpx

from rectify.channels.config import WebhookChannel
from rectify.channels.outcome import Attempt, Clock, Stopwatch, utc_now
from rectify.channels.posting import DEFAULT_TIMEOUT, json_body, post_json
from rectify.channels.text import NoticeText

TIMESTAMP_HEADER = "X-Rectify-Timestamp"
SIGNATURE_HEADER = "X-Rectify-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
REPLAY_WINDOW = timedelta(minutes=5)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value: `v1=` and the hex HMAC-SHA256 of `b"<timestamp>." + body`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, notice_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        IDEMPOTENCY_HEADER: notice_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: int, window: timedelta = REPLAY_WINDOW
) -> bool:
    """A receiver's check (Python): the signature matches the body and the timestamp is within `window`.

    `headers` must look names up case-insensitively (as every HTTP framework's headers do); `now` is the
    receiver's clock in unix seconds.
    """
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > window.total_seconds():
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given.strip()) for given in headers.get(SIGNATURE_HEADER, "").split(","))


async def send_webhook(
    http: httpx.AsyncClient,
    channel: WebhookChannel,
    text: NoticeText,
    *,
    clock: Clock = utc_now,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> Attempt:
    """POST the notice's payload, signed with the channel's secret; 2xx is delivered."""
    watch = Stopwatch(clock, channel.id, text.notice_id)
    body = json_body(text.payload)
    headers = signed_headers(channel.secret, text.notice_id, int(watch.started_at.timestamp()), body)
    return await post_json(http, channel.url, body, headers=headers, watch=watch, timeout=timeout)
