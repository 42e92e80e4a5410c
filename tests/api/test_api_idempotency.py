"""Idempotency as the IETF httpapi idempotency-key draft specifies, over HTTP and through the SDK: a key is
bound to its caller, its operation and its body; a replay gets the stored answer and records nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from rectify.client import CommandRejected
from rectify.devstack import EmbeddedPostgres
from rectify.domain import commands as c
from rectify.domain.types import Actor, Channel, Point, Role
from rectify.store.idempotency import fingerprint
from tests.support.api import Api, api_stack, served


@pytest.fixture
async def api(pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(pg, tmp_path) as a:
        yield a


async def types(api: Api, case_id: str) -> list[str]:
    return [e.type for e in await api.stack.store.load(case_id)]


async def test_a_replay_gets_the_stored_response_and_another_body_or_command_gets_422(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    headers = api.auth("lead") | {"Idempotency-Key": '"k-1"'}  # a structured-field string, as the draft writes it
    first = await api.http.post(f"/v1/cases/{case_id}/dispute", json={"reason": "不属本单位"}, headers=headers)
    assert first.status_code == 200, first.text
    before = await types(api, case_id)
    again = await api.http.post(f"/v1/cases/{case_id}/dispute", json={"reason": "不属本单位"}, headers=headers)
    assert again.status_code == 200 and again.content == first.content and again.headers["idempotent-replayed"]
    other_body = await api.http.post(f"/v1/cases/{case_id}/dispute", json={"reason": "另一理由"}, headers=headers)
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json()["error"]["message"]
    other_command = await api.http.post(f"/v1/cases/{case_id}/claim", json={}, headers=headers)
    assert other_command.status_code == 422
    assert await types(api, case_id) == before  # nothing new recorded
    unquoted = await api.http.post(
        f"/v1/cases/{case_id}/dispute",
        json={"reason": "不属本单位"},
        headers=api.auth("lead") | {"Idempotency-Key": "k-1"},
    )
    assert unquoted.content == first.content
    # The key is the caller's own: another key's "k-1" is another request.
    theirs = await api.http.post(
        f"/v1/cases/{case_id}/uphold",
        json={"reason": "维持"},
        headers=api.auth("dispatcher") | {"Idempotency-Key": "k-1"},
    )
    assert theirs.status_code == 200 and "dispatch_upheld" in theirs.text


async def test_a_refusal_by_the_rules_is_stored_too_and_nothing_decided_is_not(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    headers = api.auth("lead") | {"Idempotency-Key": "v-1"}
    refused = await api.http.post(f"/v1/cases/{case_id}/verify", json={"passed": True}, headers=headers)
    assert refused.status_code == 409
    assert (await api.http.post(f"/v1/cases/{case_id}/verify", json={"passed": True}, headers=headers)).content == (
        refused.content
    )
    missing = await api.http.post("/v1/cases/no-such-case/claim", json={}, headers=headers | {"Idempotency-Key": "n"})
    assert missing.status_code == 404  # nothing was decided: the key is free again
    claimed = await api.http.post(f"/v1/cases/{case_id}/claim", json={}, headers=headers | {"Idempotency-Key": "n"})
    assert claimed.status_code == 200, claimed.text


def api_key_id(api: Api, who: str) -> str:
    return api.keys[who].split("_")[1]


async def test_a_duplicate_while_the_first_still_runs_gets_409_and_a_dead_lease_is_taken_over(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    store = api.app.state.api.idempotency
    operation, scope = f"POST /v1/cases/{case_id}/claim", api_key_id(api, "lead")
    assert (await store.claim(scope, "busy", operation, fingerprint({}))).outcome == "new"  # another worker has it
    busy = await api.http.post(
        f"/v1/cases/{case_id}/claim", json={}, headers=api.auth("lead") | {"Idempotency-Key": "busy"}
    )
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1" and "still being processed" in busy.text
    assert "case_claimed" not in await types(api, case_id)
    await store.claim(scope, "dead", operation, fingerprint({}), lease=timedelta(0))  # its process died
    taken = await api.http.post(
        f"/v1/cases/{case_id}/claim", json={}, headers=api.auth("lead") | {"Idempotency-Key": "dead"}
    )
    assert taken.status_code == 200, taken.text


async def test_two_concurrent_requests_with_one_key_run_once(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    headers = api.auth("lead") | {"Idempotency-Key": "race"}
    async with (
        served(api) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as one,
        httpx.AsyncClient(base_url=base, timeout=60) as two,
    ):
        both = await asyncio.gather(
            *(http.post(f"/v1/cases/{case_id}/claim", json={}, headers=headers) for http in (one, two))
        )
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]
    assert (await types(api, case_id)).count("case_claimed") == 1


async def test_an_open311_replay_records_nothing_new_and_another_body_gets_422(api: Api) -> None:
    at = api.spot(index=9)
    form = {
        "api_key": api.keys["app"],
        "service_code": "street_vending",
        "lat": str(at[0]),
        "long": str(at[1]),
        "description": "摊贩",
        "email": "li@example.cn",
    }
    headers = {"Idempotency-Key": "report-1"}
    first = await api.http.post("/open311/v2/requests.json", data=form, headers=headers)
    again = await api.http.post("/open311/v2/requests.json", data=form, headers=headers)
    assert first.status_code == again.status_code == 200 and again.content == first.content
    case_id = first.json()[0]["service_request_id"]
    assert "duplicate_attached" not in await types(api, case_id)
    assert [r.case_id for r in await api.stack.store.list_cases()] == [case_id]
    changed = await api.http.post("/open311/v2/requests.json", data=form | {"description": "另一件事"}, headers=headers)
    assert changed.status_code == 422 and changed.json()[0]["code"] == 422
    xml = await api.http.post("/open311/v2/requests.xml", data=form, headers=headers)  # another operation
    assert xml.status_code == 422 and xml.headers["content-type"].startswith("text/xml")
    assert "duplicate_attached" not in await types(api, case_id)
    assert len(await api.stack.store.list_cases()) == 1


async def test_the_sdk_refuses_a_command_id_or_report_key_reused_for_something_else(api: Api) -> None:
    client = api.stack.client
    lat, lon = api.spot(index=70)
    reporter = Actor(unit_id="app_wechat", role=Role.REPORTER)
    report = {
        "idempotency_key": "sdk-report",
        "category": "street_vending",
        "description": "摊贩",
        "location": Point(lon=lon, lat=lat),
        "channel": Channel.SNAPSHOT,
        "actor": reporter,
    }
    ref = await client.report(**report)
    assert (await client.report(**report)).case_id == ref.case_id  # a retry finds its case
    with pytest.raises(CommandRejected) as reused:
        await client.report(**report | {"description": "另一件事"})
    assert reused.value.rule == "idempotency_key_reused"
    lead = Actor(unit_id=ref.lead_unit, role=Role.UNIT)
    claim = c.ClaimCase(command_id="cmd-1", case_id=ref.case_id, actor=lead)
    first = await client.execute(claim)
    assert (await client.execute(claim)).events == first.events  # a retry: the first answer
    dispute = c.DisputeCase(command_id="cmd-1", case_id=ref.case_id, actor=lead, reason="不属本单位")
    with pytest.raises(CommandRejected) as refused:
        await client.execute(dispute)
    assert refused.value.rule == "idempotency_key_reused"
    assert "case_disputed" not in await types(api, ref.case_id)
