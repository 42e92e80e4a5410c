"""企业微信 group robot: POST `{"msgtype": "markdown", "markdown": {"content": …}}` to the robot's webhook URL.

The URL carries the robot's key (…/cgi-bin/webhook/send?key=…), so it is the secret. The robot answers
HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`; any other errcode is a failure: -1 (busy) and 45009 (more
than 20 messages a minute to one robot) pass with time, the rest (93000: no such robot, a malformed
message) do not. A markdown message holds at most 4096 bytes: a longer one is cut at a line.
"""

from __future__ import annotations

import httpx

from rectify.channels.config import WeComChannel
from rectify.channels.outcome import Attempt, Clock, Stopwatch, utc_now
from rectify.channels.posting import DEFAULT_TIMEOUT, json_body, post_json, robot_verdict
from rectify.channels.text import NoticeText, markdown

RETRYABLE_ERRCODES = frozenset({-1, 45009, 45033})
MAX_CONTENT_BYTES = 4096


def message(text: NoticeText) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": fit(markdown(text), MAX_CONTENT_BYTES)}}


def fit(content: str, limit: int) -> str:
    """`content` cut at whole lines to `limit` UTF-8 bytes (the case link, last, is kept)."""
    if len(content.encode("utf-8")) <= limit:
        return content
    *lines, link = content.split("\n")
    while lines and len("\n".join([*lines, "…", link]).encode("utf-8")) > limit:
        lines.pop()
    return "\n".join([*lines, "…", link])


async def send_wecom(
    http: httpx.AsyncClient,
    channel: WeComChannel,
    text: NoticeText,
    *,
    clock: Clock = utc_now,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> Attempt:
    watch = Stopwatch(clock, channel.id, text.notice_id)
    body = json_body(message(text))
    verdict = robot_verdict(RETRYABLE_ERRCODES)
    return await post_json(http, channel.url, body, headers={}, watch=watch, verdict=verdict, timeout=timeout)
