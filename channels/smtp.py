"""E-mail over SMTP with STARTTLS (aiosmtplib): a Chinese plain-text body with a simple HTML alternative.

The connection is upgraded with STARTTLS before anything else is said, and a server that does not offer it
is a permanent failure: a notice (and a password) never goes in clear. Headers are UTF-8 (RFC 2047 encoded
where they hold Chinese). The Message-ID is derived from the notice and the channel, so a mail client that
drops a repeated Message-ID shows a notice sent twice (at least once) only once.

Replies decide the outcome: 4xx and a lost or timed-out connection pass with time; 5xx (mailbox refused,
authentication failed) and a certificate that does not verify do not.
"""

from __future__ import annotations

import hashlib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache

import aiosmtplib

from rectify.channels.config import EmailChannel
from rectify.channels.outcome import Attempt, Clock, Outcome, Stopwatch, utc_now
from rectify.channels.text import NoticeText, html, plain

DEFAULT_TIMEOUT_S = 30.0
SENDER_NAME = "问题整改系统"


@lru_cache(maxsize=32)
def _context(ca_file: str | None) -> ssl.SSLContext:
    """One verifying context per CA bundle (reading the system's CAs for every mail would cost more than it)."""
    return ssl.create_default_context(cafile=ca_file)


def message(channel: EmailChannel, text: NoticeText, *, clock: Clock = utc_now) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = text.title
    mail["From"] = formataddr((SENDER_NAME, channel.sender))
    mail["To"] = ", ".join(channel.recipients)
    mail["Date"] = format_datetime(clock())
    digest = hashlib.sha256(f"{text.notice_id}\0{channel.id}".encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@{channel.sender.rpartition('@')[2]}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the system
    mail["X-Rectify-Notice"] = text.notice_id
    greeting = f"{text.unit_name}{' ' + channel.role if channel.role else ''}："
    mail.set_content(f"{greeting}\n\n{plain(text)}\n\n（本邮件由问题整改系统自动发送，请勿直接回复。）\n")
    mail.add_alternative(html(text, greeting=greeting), subtype="html")
    return mail


async def send_email(
    channel: EmailChannel,
    text: NoticeText,
    *,
    clock: Clock = utc_now,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    tls_context: ssl.SSLContext | None = None,
) -> Attempt:
    """Send to every recipient in one transaction; delivered when the server accepted at least one."""
    watch = Stopwatch(clock, channel.id, text.notice_id)
    try:
        context = tls_context or _context(channel.ca_file)
    except (OSError, ssl.SSLError) as error:  # the channel's CA file, not the far end
        return watch.attempt(Outcome.PERMANENT, reason=f"CA file {channel.ca_file}: {error}")
    try:
        refused, reply = await aiosmtplib.send(
            message(channel, text, clock=clock),
            hostname=channel.smtp_host,
            port=channel.smtp_port,
            username=channel.username,
            password=channel.password,
            start_tls=True,
            tls_context=context,
            timeout=timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        codes = [r.code for r in error.recipients]
        reasons = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
        outcome = Outcome.RETRYABLE if all(400 <= c < 500 for c in codes) else Outcome.PERMANENT
        return watch.attempt(outcome, status=max(codes, default=None), reason=f"recipients refused: {reasons}")
    except aiosmtplib.SMTPResponseException as error:
        outcome = Outcome.RETRYABLE if 400 <= error.code < 500 else Outcome.PERMANENT
        return watch.attempt(outcome, status=error.code, reason=f"{type(error).__name__}: {error.message}")
    except ssl.SSLCertVerificationError as error:
        return watch.attempt(Outcome.PERMANENT, reason=f"certificate refused: {error.verify_message}")
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError) as error:
        return watch.attempt(Outcome.RETRYABLE, reason=f"{type(error).__name__}: {error}")
    except aiosmtplib.SMTPException as error:  # STARTTLS not offered, an authentication method missing
        return watch.attempt(Outcome.PERMANENT, reason=f"{type(error).__name__}: {error}")
    except OSError as error:
        return watch.attempt(Outcome.RETRYABLE, reason=f"{type(error).__name__}: {error}")
    # The server's answer to DATA was 250 (aiosmtplib raises on any other) and `reply` is its text.
    note = "; ".join(f"refused {who}: {r.code} {r.message}" for who, r in refused.items())
    return watch.attempt(Outcome.DELIVERED, status=250, reason=note or reply[:200])
