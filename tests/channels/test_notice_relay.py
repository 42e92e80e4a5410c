"""The relay end to end: a case left alone climbs the ladder in Temporal, each notice goes from the outbox to
the unit's channels (a real local webhook receiver and a real SMTP server, aiosmtpd), and every try is
recorded; several relays on one database never send a delivery twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from rectify.channels.config import ChannelBook, EmailChannel, WebhookChannel
from rectify.channels.relay import RelayOptions
from rectify.devstack import EmbeddedPostgres, Notices, TestStack
from rectify.domain.types import Channel
from rectify.store.notices import NoticeStore
from tests.support.certs import make_server_certificate
from tests.support.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver
from tests.support.scenario import REPORTER, point_in

SECRET = "relay-test-secret-0123456789"
UNIT = "st_guanyinqiao"
BASE_URL = "https://rectify.example.invalid"
FAST = RelayOptions(base_url=BASE_URL, idle=timedelta(seconds=1), lease=timedelta(seconds=20))


async def until(check: Callable[[], object], seconds: float = 30.0) -> None:
    """Wait in real time (the relay runs on the wall clock) until `check()` is true."""
    for _ in range(int(seconds * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


@pytest.fixture
async def rx() -> AsyncIterator[HttpReceiver]:
    async with http_receiver(webhook_secrets={"guanyinqiao": SECRET}) as receiver:
        yield receiver


def hook(rx: HttpReceiver) -> WebhookChannel:
    return WebhookChannel(id="guanyinqiao-hook", unit=UNIT, url=f"{rx.url}/hook/guanyinqiao", secret=SECRET)


def mailbox(smtp: SmtpReceiver, ca_file: Path) -> EmailChannel:
    return EmailChannel(
        id="guanyinqiao-leader",
        unit=UNIT,
        role="街道党工委书记、办事处主任",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        username="rectify",
        password="pw-0123",
        sender="rectify@example.invalid",
        recipients=("leader@example.invalid",),
        ca_file=str(ca_file),
        kinds=("escalation_raised",),
        min_level=2,  # from 曝光 up
    )


async def test_a_case_left_alone_tells_its_unit_through_a_webhook_and_its_leader_by_mail(
    pg: EmbeddedPostgres, rx: HttpReceiver, tmp_path: Path
) -> None:
    cert = make_server_certificate(tmp_path / "tls")
    async with smtp_receiver(cert, users={"rectify": "pw-0123"}) as smtp:
        book = ChannelBook(channels=(hook(rx), mailbox(smtp, cert.ca_file)))
        async with TestStack(pg=pg, notices=Notices(book=book, options=FAST, worker="w1")) as stack:
            ref = await stack.client.report(
                idempotency_key="relay-1",
                category="street_vending",  # 2 working hours to rectify
                description="占道经营，联系人 13912345678",
                location=point_in(stack.city, UNIT),
                address="观音桥步行街 3 号",
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
            assert ref.lead_unit == UNIT
            await stack.env.sleep(timedelta(days=14))  # every rung, and the referral to 问责
            told = await stack.store.pool.fetch(
                "SELECT notification_id, kind FROM outbox WHERE recipient = $1 ORDER BY created_at", UNIT
            )
            kinds = [r["kind"] for r in told]
            assert kinds.count("escalation_raised") == 4 and "proceeding_opened" in kinds
            await until(lambda: len(rx.kept["guanyinqiao"]) == len(told) and len(smtp.mails) == 3)
            await asyncio.sleep(0.5)  # nothing more arrives: no notice twice
            notices = NoticeStore(stack.store.pool)
            attempts = [a for r in told for a in await notices.attempts(r["notification_id"])]
            deliveries = [d for r in told for d in await notices.deliveries(r["notification_id"])]

    # The webhook took every notice of the unit, once each; the leader's mailbox the rungs from 曝光 up.
    assert len(rx.of("guanyinqiao")) == len(told)
    assert list(rx.kept["guanyinqiao"]) == [r["notification_id"] for r in told]
    bodies = [json.loads(b) for b in rx.kept["guanyinqiao"].values()]
    assert {b["case"]["id"] for b in bodies} == {ref.case_id}
    assert all(b["case"]["category"]["name"] == "占道经营" for b in bodies)  # the referral's too (subject case)
    assert all(b["url"] == f"{BASE_URL}/cases/{ref.case_id}" for b in bodies)
    assert [b["rung"]["level"] for b in bodies if b["kind"] == "escalation_raised"] == [1, 2, 3, 4]
    assert all("13912345678" not in json.dumps(b, ensure_ascii=False) for b in bodies)  # no description
    subjects = [mail["Subject"] for _, _, mail in smtp.mails]
    assert [s.split("】")[0] for s in subjects] == ["【曝光", "【扣分", "【问责"]
    assert smtp.sessions[0] == {"tls": True, "login": "rectify"}
    # Every try is on record, with its worker: the unit was told, and when.
    assert len(attempts) == len(told) + 3 and {a.outcome for a in attempts} == {"delivered"}
    assert {a.worker for a in attempts} == {"w1"}
    assert len(deliveries) == len(attempts) and all(d["state"] == "delivered" for d in deliveries)
    assert all(d["delivered_at"] is not None and d["lease_until"] is None for d in deliveries)
