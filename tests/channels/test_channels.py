"""Each channel against a real local receiver that checks what the real far end checks (tests/receivers.py),
and a notice made from a report filed through the real Open311 intake."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from rectify.channels.config import DingTalkChannel, EmailChannel, WebhookChannel, WeComChannel
from rectify.channels.outcome import Outcome
from rectify.channels.send import Sender
from rectify.channels.text import compose, html, markdown, plain
from rectify.channels.webhook import verify
from rectify.devstack import EmbeddedPostgres, free_port
from rectify.domain.notifications import notice_facts, notifications_for
from rectify.domain.state import fold
from tests.support.api import api_stack
from tests.support.certs import make_server_certificate
from tests.support.given import LEAD
from tests.support.notices import BASE_URL, a_notice
from tests.support.receivers import HttpReceiver, http_receiver, smtp_receiver

SECRET = "webhook-secret-0123456789"
DING_SECRET = "SEC0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
async def rx() -> AsyncIterator[HttpReceiver]:
    async with http_receiver(
        webhook_secrets={"unit": SECRET}, wecom_keys={"wkey-1"}, dingtalk_robots={"tok-1": DING_SECRET, "tok-2": None}
    ) as receiver:
        yield receiver


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with httpx.AsyncClient() as http:
        yield Sender(http=http)


def webhook(rx: HttpReceiver, **overrides: object) -> WebhookChannel:
    return WebhookChannel(**{"id": "hook", "unit": LEAD, "url": f"{rx.url}/hook/unit", "secret": SECRET} | overrides)


# -- signed webhooks -------------------------------------------------------------------------------------------
async def test_a_webhook_is_signed_as_documented_and_kept_once_by_its_idempotency_key(
    rx: HttpReceiver, sender: Sender
) -> None:
    text = a_notice()
    first = await sender.send(webhook(rx), text)
    again = await sender.send(webhook(rx), text)  # a retry whose answer was lost
    assert (first.outcome, first.status, again.outcome) == (Outcome.DELIVERED, 200, Outcome.DELIVERED)
    assert first.elapsed_ms > 0 and first.notice_id == text.notice_id and first.channel_id == "hook"
    [one, two] = rx.of("unit")
    assert one.headers["Idempotency-Key"] == two.headers["Idempotency-Key"] == text.notice_id
    assert one.headers["X-Rectify-Signature"].startswith("v1=") and len(one.headers["X-Rectify-Signature"]) == 67
    assert list(rx.kept["unit"]) == [text.notice_id]  # the receiver honoured the key: kept once
    body = json.loads(rx.kept["unit"][text.notice_id])
    assert body == text.payload and body["url"].endswith(f"/cases/{body['case']['id']}")
    assert body["unit"]["name"] == "甲街道" and body["case"]["category"]["name"] == "占道经营"
    stamp = int(one.headers["X-Rectify-Timestamp"])
    assert abs(stamp - time.time()) < 60
    assert verify(SECRET, one.headers, one.body, now=stamp + 299)  # the library's check agrees with the docs'


async def test_a_webhook_with_another_secret_a_stale_timestamp_or_an_altered_body_is_refused(
    rx: HttpReceiver, sender: Sender
) -> None:
    text = a_notice()
    wrong = await sender.send(webhook(rx, secret="another-secret-0123456789"), text)
    assert (wrong.outcome, wrong.status) == (Outcome.PERMANENT, 401)
    late = Sender(http=sender.http, clock=lambda: datetime.now(UTC) - timedelta(minutes=6))
    stale = await late.send(webhook(rx), text)  # a request captured and replayed six minutes later
    assert (stale.outcome, stale.status) == (Outcome.PERMANENT, 401)
    assert rx.kept["unit"] == {}
    good = await sender.send(webhook(rx), text)
    assert good.outcome is Outcome.DELIVERED
    request = rx.of("unit")[-1]
    stamp = int(request.headers["X-Rectify-Timestamp"])
    assert verify(SECRET, request.headers, request.body, now=stamp + 300)
    assert not verify(SECRET, request.headers, request.body, now=stamp + 301)
    assert not verify(SECRET, request.headers, request.body.replace("甲街道".encode(), "乙街道".encode()), now=stamp)


async def test_failed_answers_say_whether_a_retry_can_help(rx: HttpReceiver, sender: Sender) -> None:
    text = a_notice()
    rx.fail_next("unit", 1, status=503)
    rx.fail_next("unit", 1, status=429)
    rx.fail_next("unit", 1, status=400)
    outcomes = [await sender.send(webhook(rx), text) for _ in range(3)]
    assert [(a.outcome, a.status) for a in outcomes] == [
        (Outcome.RETRYABLE, 503),
        (Outcome.RETRYABLE, 429),
        (Outcome.PERMANENT, 400),
    ]
    gone = await sender.send(webhook(rx, url=f"{rx.url}/hook/nobody"), text)
    assert (gone.outcome, gone.status) == (Outcome.PERMANENT, 404)
    refused = await sender.send(webhook(rx, url=f"http://127.0.0.1:{free_port()}/hook/unit"), text)
    assert (refused.outcome, refused.status) == (Outcome.RETRYABLE, None) and "Connect" in refused.reason
    unusable = await sender.send(webhook(rx).model_copy(update={"url": "https:///hook"}), text)  # not validated
    assert unusable.outcome is Outcome.PERMANENT and unusable.reason.startswith("bad URL")
    rx.delay_s = 1.0
    impatient = Sender(http=sender.http, http_timeout=httpx.Timeout(0.2))
    slow = await impatient.send(webhook(rx), text)
    assert slow.outcome is Outcome.RETRYABLE and slow.reason.startswith("timeout") and slow.elapsed_ms < 900


# -- group robots ----------------------------------------------------------------------------------------------
async def test_the_wecom_robot_gets_its_markdown_message(rx: HttpReceiver, sender: Sender) -> None:
    text = a_notice()
    channel = WeComChannel(id="wecom", unit=LEAD, url=f"{rx.url}/cgi-bin/webhook/send?key=wkey-1")
    sent = await sender.send(channel, text)
    assert (sent.outcome, sent.status, sent.reason) == (Outcome.DELIVERED, 200, "")
    [request] = rx.of("wecom")
    message = request.json()
    assert set(message) == {"msgtype", "markdown"} and message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    assert content.startswith("### 【派遣】占道经营") and f"]({text.url})" in content
    assert "**整改时限**：2026-11-24 11:30（周二）北京时间" in content
    wrong_key = await sender.send(channel.model_copy(update={"url": f"{rx.url}/cgi-bin/webhook/send?key=x"}), text)
    assert (wrong_key.outcome, wrong_key.status) == (Outcome.PERMANENT, 200) and "errcode 93000" in wrong_key.reason
    rx.fail_next("wecom", 1, errcode=45009)  # more than 20 messages a minute
    limited = await sender.send(channel, text)
    assert (limited.outcome, limited.status) == (Outcome.RETRYABLE, 200) and "45009" in limited.reason


async def test_the_dingtalk_robot_checks_the_timestamp_and_sign_as_dingtalk_does(
    rx: HttpReceiver, sender: Sender
) -> None:
    text = a_notice("escalation_raised")
    channel = DingTalkChannel(id="ding", unit=LEAD, url=f"{rx.url}/robot/send?access_token=tok-1", secret=DING_SECRET)
    before = int(time.time() * 1000)
    sent = await sender.send(channel, text)
    assert (sent.outcome, sent.status) == (Outcome.DELIVERED, 200), sent.reason
    [request] = rx.of("dingtalk")
    assert request.raw_query.startswith("access_token=tok-1&timestamp=") and "&sign=" in request.raw_query
    assert before <= int(request.query["timestamp"][0]) <= int(time.time() * 1000)  # milliseconds
    message = request.json()
    assert message["msgtype"] == "markdown" and set(message["markdown"]) == {"title", "text"}
    assert message["markdown"]["title"] == text.title and text.title.startswith("【催办】")
    assert "**升级**：第1级 催办" in message["markdown"]["text"]
    forged = await sender.send(channel.model_copy(update={"secret": "SECnot-the-robots-secret"}), text)
    assert (forged.outcome, forged.status) == (Outcome.PERMANENT, 200) and "errcode 310000" in forged.reason
    unsigned = await sender.send(channel.model_copy(update={"secret": None}), text)
    assert unsigned.outcome is Outcome.PERMANENT  # this robot has 加签 on: an unsigned post is refused
    keyword_robot = DingTalkChannel(id="ding2", unit=LEAD, url=f"{rx.url}/robot/send?access_token=tok-2")
    assert (await sender.send(keyword_robot, text)).outcome is Outcome.DELIVERED
    assert "sign=" not in rx.of("dingtalk")[-1].raw_query
    rx.fail_next("dingtalk", 1, errcode=130101)  # sending too fast
    assert (await sender.send(keyword_robot, text)).outcome is Outcome.RETRYABLE


# -- e-mail ----------------------------------------------------------------------------------------------------
def mail_channel(port: int, ca_file: Path | None, **overrides: object) -> EmailChannel:
    fields = {
        "id": "mail",
        "unit": LEAD,
        "role": "主要负责人",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "username": "rectify",
        "password": "pw-0123",
        "sender": "rectify@example.invalid",
        "recipients": ("leader@example.invalid", "deputy@example.invalid"),
        "ca_file": str(ca_file) if ca_file else None,
    }
    return EmailChannel(**fields | overrides)


async def test_an_email_goes_over_starttls_after_a_login_in_chinese_with_utf8_headers(
    tmp_path: Path, sender: Sender
) -> None:
    cert = make_server_certificate(tmp_path / "tls")
    text = a_notice("escalation_raised")
    async with smtp_receiver(cert, users={"rectify": "pw-0123"}) as smtp:
        sent = await sender.send(mail_channel(smtp.port, cert.ca_file), text)
        again = await sender.send(mail_channel(smtp.port, cert.ca_file), text)
    assert (sent.outcome, sent.status) == (Outcome.DELIVERED, 250) and "queued" in sent.reason
    assert again.outcome is Outcome.DELIVERED
    assert smtp.sessions[0] == {"tls": True, "login": "rectify"}
    (mail_from, rcpt, mail), (_, _, repeat) = smtp.mails
    assert mail_from == "rectify@example.invalid" and rcpt == ["leader@example.invalid", "deputy@example.invalid"]
    assert isinstance(mail, EmailMessage) and mail["Subject"] == text.title
    assert mail["From"].addresses[0].display_name == "问题整改系统"
    assert mail["Message-ID"] == repeat["Message-ID"]  # the same notice, the same Message-ID
    raw_headers = mail.as_bytes().split(b"\n\n", 1)[0]
    assert raw_headers.isascii() and b"=?utf-8?" in raw_headers  # Chinese headers RFC 2047-encoded
    body = mail.get_body(("plain",)).get_content()
    html_body = mail.get_body(("html",)).get_content()
    assert body.startswith("甲街道 主要负责人：") and plain(text) in body
    assert "<table>" in html_body and f'href="{text.url}"' in html_body and "第1级 催办" in html_body


async def test_an_email_is_never_sent_in_clear_nor_to_a_server_it_cannot_verify(tmp_path: Path, sender: Sender) -> None:
    cert = make_server_certificate(tmp_path / "tls")
    text = a_notice()
    async with smtp_receiver(None) as clear:  # offers no STARTTLS
        in_clear = await sender.send(mail_channel(clear.port, cert.ca_file, username=None, password=None), text)
    assert in_clear.outcome is Outcome.PERMANENT and "STARTTLS" in in_clear.reason and clear.mails == []
    async with smtp_receiver(cert, users={"rectify": "pw-0123"}) as smtp:
        unknown_ca = await sender.send(mail_channel(smtp.port, None), text)  # the system's CAs do not know it
        bad_login = await sender.send(mail_channel(smtp.port, cert.ca_file, password="wrong"), text)
        smtp.refuse = {"leader@example.invalid", "deputy@example.invalid"}
        refused = await sender.send(mail_channel(smtp.port, cert.ca_file), text)
        smtp.refuse = {"deputy@example.invalid"}
        partly = await sender.send(mail_channel(smtp.port, cert.ca_file), text)
    assert unknown_ca.outcome is Outcome.PERMANENT and "certificate" in unknown_ca.reason
    assert (bad_login.outcome, bad_login.status) == (Outcome.PERMANENT, 535)
    assert (refused.outcome, refused.status) == (Outcome.PERMANENT, 550)
    assert partly.outcome is Outcome.DELIVERED and "deputy@example.invalid" in partly.reason
    assert [rcpt for _, rcpt, _ in smtp.mails] == [["leader@example.invalid"]]
    no_ca = await sender.send(mail_channel(free_port(), tmp_path / "missing.pem"), text)
    assert no_ca.outcome is Outcome.PERMANENT and no_ca.reason.startswith("CA file")
    nobody = await sender.send(mail_channel(free_port(), cert.ca_file), text)
    assert nobody.outcome is Outcome.RETRYABLE


async def test_open311_contact_details_never_reach_the_units_notice(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    """Through the real intake: the contact fields go to their own table, and no notice made from the stored
    events carries them, nor what the reporter typed into the description."""
    contact = {"email": "li.si@example.cn", "first_name": "李", "last_name": "四", "phone": "13700000001"}
    async with api_stack(pg, tmp_path) as api:
        created = await api.report(
            **contact, description="李四 13700000001 反映摊贩占道", address_string="建新北路 13700000001"
        )
        events = await api.stack.store.load(created["service_request_id"])
    case = fold(events)
    assert case is not None
    found = [
        notice_facts(note, next(e for e in events if e.event_id == note.event_id), case, api.stack.city.policy)
        for note in notifications_for(events, case.lead_unit)
    ]
    assert [f.kind for f in found] == ["case_dispatched"]
    text = compose(found[0], api.stack.city.policy, BASE_URL)
    for rendering in (plain(text), markdown(text), html(text), json.dumps(text.payload, ensure_ascii=False)):
        assert not any(v in rendering for v in ("li.si@example.cn", "李四", "13700000001", "反映摊贩占道"))
    assert dict(text.lines)["问题地点"].startswith("建新北路 137****0001（")
