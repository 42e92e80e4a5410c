"""Send one notice through one channel, whatever its kind: the one door the delivery goes through.

A `Sender` holds what the senders share (one HTTP connection pool, the clock, timeouts, a TLS context for
a private CA) and is built once per process at the edge, like the store's pool.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import assert_never

import httpx

from rectify.channels.config import Channel, DingTalkChannel, EmailChannel, WebhookChannel, WeComChannel
from rectify.channels.dingtalk import send_dingtalk
from rectify.channels.outcome import Attempt, Clock, utc_now
from rectify.channels.posting import DEFAULT_TIMEOUT
from rectify.channels.smtp import DEFAULT_TIMEOUT_S, send_email
from rectify.channels.text import NoticeText
from rectify.channels.webhook import send_webhook
from rectify.channels.wecom import send_wecom


@dataclass
class Sender:
    http: httpx.AsyncClient
    clock: Clock = utc_now
    http_timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    smtp_timeout_s: float = DEFAULT_TIMEOUT_S
    #: Trusts this context's CAs for SMTP instead of the system's (tests, a private CA for every server).
    smtp_tls: ssl.SSLContext | None = field(default=None, repr=False)

    async def send(self, channel: Channel, text: NoticeText) -> Attempt:
        """One try; never raises for the far end's failure (the Attempt says what happened)."""
        match channel:
            case WebhookChannel():
                return await send_webhook(self.http, channel, text, clock=self.clock, timeout=self.http_timeout)
            case WeComChannel():
                return await send_wecom(self.http, channel, text, clock=self.clock, timeout=self.http_timeout)
            case DingTalkChannel():
                return await send_dingtalk(self.http, channel, text, clock=self.clock, timeout=self.http_timeout)
            case EmailChannel():
                return await send_email(
                    channel, text, clock=self.clock, timeout_s=self.smtp_timeout_s, tls_context=self.smtp_tls
                )
            case _:
                assert_never(channel)
