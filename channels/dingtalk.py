"""钉钉 group robot: POST `{"msgtype": "markdown", "markdown": {"title": …, "text": …}}` to its webhook URL.

The URL carries the robot's access_token. With signing (加签) on, each request appends
`&timestamp=T&sign=S`: T the current time in milliseconds, S the URL-encoded base64 of
HMAC-SHA256(secret, f"{T}\\n{secret}"); the robot refuses a T more than an hour from its clock. It answers
HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`; -1 (busy) and 130101 / 410100 (more than 20 messages a
minute) pass with time, any other code (310000: signature, keyword or address refused; 300001: bad token)
does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

import httpx

from rectify.channels.config import DingTalkChannel
from rectify.channels.outcome import Attempt, Clock, Stopwatch, utc_now
from rectify.channels.posting import DEFAULT_TIMEOUT, json_body, post_json, robot_verdict
from rectify.channels.text import NoticeText, markdown
from rectify.channels.wecom import fit

RETRYABLE_ERRCODES = frozenset({-1, 130101, 410100})
MAX_TEXT_BYTES = 20000


def sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` parameter, URL-encoded: base64(HMAC-SHA256(secret, f"{timestamp_ms}\\n{secret}"))."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(mac))


def signed_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def message(text: NoticeText) -> dict:
    # The title shows in the chat list and the phone's notification; the text is the message itself.
    return {"msgtype": "markdown", "markdown": {"title": text.title, "text": fit(markdown(text), MAX_TEXT_BYTES)}}


async def send_dingtalk(
    http: httpx.AsyncClient,
    channel: DingTalkChannel,
    text: NoticeText,
    *,
    clock: Clock = utc_now,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> Attempt:
    watch = Stopwatch(clock, channel.id, text.notice_id)
    url = signed_url(channel.url, channel.secret, int(watch.started_at.timestamp() * 1000))
    body, verdict = json_body(message(text)), robot_verdict(RETRYABLE_ERRCODES)
    return await post_json(http, url, body, headers={}, watch=watch, verdict=verdict, timeout=timeout)
