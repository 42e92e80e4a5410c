"""Hostile input at the HTTP API: never a 5xx for what a client sends, no secret in the log, nothing
accepted that should not be (references, links), and access as the rules say."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import structlog

from rectify.client import CommandRejected
from rectify.client.evidence import may_read_evidence
from rectify.devstack import EmbeddedPostgres
from rectify.domain.types import Actor, Channel, Point, Role
from tests.support.api import Api, api_stack, png


@pytest.fixture
async def api(pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(pg, tmp_path) as a:
        yield a


def form(api: Api, at: tuple[float, float], **extra: str) -> dict[str, str]:
    return {
        "api_key": api.keys["app"],
        "service_code": "street_vending",
        "lat": str(at[0]),
        "long": str(at[1]),
        "description": "流动摊贩占道经营",
    } | extra


async def test_text_that_is_too_long_gets_the_same_400_at_a_fresh_spot_and_at_a_spot_with_a_case(api: Api) -> None:
    taken = api.spot(index=3)
    await api.report(at=taken)
    long_text = "摊" * 2001
    for at in (taken, api.spot(index=40)):  # the duplicate path, then a fresh spot
        response = await api.http.post("/open311/v2/requests.json", data=form(api, at, description=long_text))
        assert response.status_code == 400, response.text
        assert "description has 2001 characters" in response.json()[0]["description"]
    huge_address = await api.http.post(
        "/open311/v2/requests.json", data=form(api, api.spot(index=60), address_string="路" * 100_000)
    )
    assert huge_address.status_code == 400 and "address_string" in huge_address.text


async def test_nul_and_lone_surrogates_anywhere_get_a_400_in_the_api_s_own_format(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    lead = api.auth("lead")
    for path in (
        "/open311/v2/requests/%00.json",
        "/open311/v2/requests.json?service_request_id=%00",
        "/open311/v2/requests.json?service_code=a%00b",
        "/v1/cases?status=%00",
        "/v1/cases/%00",
        "/v1/cases?category=%00",
        f"/v1/cases/{case_id}?x%00=1",
        "/v1/evidence/%00",
    ):
        response = await api.http.get(path, headers=lead)
        assert response.status_code == 400, (path, response.text)
        body = response.json()
        description = body[0]["description"] if path.startswith("/open311/") else body["error"]["message"]
        assert "NUL" in description, (path, body)
    xml = await api.http.get("/open311/v2/requests/%00.xml")
    assert xml.status_code == 400 and ET.fromstring(xml.content).find("error/code").text == "400"
    for reason in ("a\x00b", "\ud800"):
        body = '{"reason": "' + reason.encode("unicode_escape").decode().replace("\\x00", "\\u0000") + '"}'
        refused = await api.http.post(
            f"/v1/cases/{case_id}/dispute", content=body, headers=lead | {"content-type": "application/json"}
        )
        assert refused.status_code == 400 and "reason" in refused.text, refused.text
    contact = await api.http.post("/open311/v2/requests.json", data=form(api, api.spot(index=20), first_name="张\x00"))
    assert contact.status_code == 400 and "first_name" in contact.text
    history = [e.type for e in await api.stack.store.load(case_id)]
    assert "case_disputed" not in history


async def test_a_fault_of_ours_is_a_500_naming_only_its_request_id_and_the_log_keeps_no_secret(api: Api) -> None:
    from rectify import logs

    captured = io.StringIO()
    logs.configure(stream=captured)
    phone, email, key = "13812345678", "zhang.san@example.cn", api.keys["lead"]

    @api.app.get("/v1/boom")  # a route that fails the way a bug would, holding secrets in its locals
    async def boom() -> None:
        contact = {"phone": phone, "email": email}
        presented = key
        raise RuntimeError(f"could not reach {contact['email']} or {contact['phone']} for {presented}")

    try:
        response = await api.http.get("/v1/boom", headers=api.auth("lead"))
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_rectify", False)]
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {"error": {"message": f"internal error; request {request_id}"}}
    log = captured.getvalue()
    assert "Traceback" in log and "RuntimeError" in log and request_id in log  # the fault is in the log …
    for secret in (phone, email, key, key.split("_")[2]):
        assert secret not in log, secret  # … without the secrets it held
    assert "[phone]" in log and "[email]" in log and "[api-key]" in log
    assert "presented =" not in log and "contact =" not in log  # no local variables


async def test_a_media_url_must_be_an_https_link(api: Api) -> None:
    for url in ("javascript:alert(1)", "http://img.example.cn/a.jpg", "data:image/png;base64,AAAA", "https://"):
        response = await api.http.post("/open311/v2/requests.json", data=form(api, api.spot(index=30), media_url=url))
        assert response.status_code == 400 and "media_url" in response.text, (url, response.text)
    assert await api.stack.store.list_cases() == []
    lat, lon = api.spot(index=31)
    with pytest.raises(CommandRejected, match="media_url"):  # the SDK holds the same rule
        await api.stack.client.report(
            idempotency_key="sdk-js",
            category="street_vending",
            description="摊贩",
            location=Point(lon=lon, lat=lat),
            channel=Channel.SNAPSHOT,
            actor=Actor(unit_id="app", role=Role.REPORTER),
            media_url="javascript:alert(1)",
        )


async def test_a_submission_names_only_photos_its_unit_uploaded(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    lead = api.auth("lead")
    assert (await api.http.post(f"/v1/cases/{case_id}/claim", json={}, headers=lead)).status_code == 200
    never = {"sha256": "ab" * 32, "size": 10, "media_type": "image/png"}
    refused = await api.http.post(f"/v1/cases/{case_id}/submit", json={"evidence": [never]}, headers=lead)
    assert refused.status_code == 400 and "upload it first" in refused.text
    theirs = (
        await api.http.post("/v1/evidence", files={"file": ("p.png", png(9), "image/png")}, headers=api.auth("other"))
    ).json()["evidence"]
    refused = await api.http.post(f"/v1/cases/{case_id}/submit", json={"evidence": [theirs]}, headers=lead)
    assert refused.status_code == 400 and "upload it first" in refused.text
    mine = (await api.http.post("/v1/evidence", files={"file": ("p.png", png(), "image/png")}, headers=lead)).json()[
        "evidence"
    ]
    lying = await api.http.post(f"/v1/cases/{case_id}/submit", json={"evidence": [mine | {"size": 1}]}, headers=lead)
    assert lying.status_code == 400 and "size and media_type" in lying.text
    assert (await api.stack.store.get_case(case_id)).status == "claimed"
    accepted = await api.http.post(f"/v1/cases/{case_id}/submit", json={"evidence": [mine]}, headers=lead)
    assert accepted.status_code == 200, accepted.text
    assert (await api.stack.store.get_case(case_id)).status == "submitted"


async def test_evidence_is_read_only_by_the_case_s_units_and_the_offices(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    lead = api.auth("lead")
    photo = (await api.http.post("/v1/evidence", files={"file": ("p.png", png(), "image/png")}, headers=lead)).json()[
        "evidence"
    ]
    path = f"/v1/evidence/{photo['sha256']}"
    expect = {"lead": 200, "dispatcher": 200, "inspector": 200, "auditor": 200, "other": 404, "app": 403}
    for who, status in expect.items():
        assert (await api.http.get(path, headers=api.auth(who))).status_code == status, who
    assert (await api.http.get(path)).status_code == 401
    await api.http.post(f"/v1/cases/{case_id}/claim", json={}, headers=lead)
    assert (await api.http.post(f"/v1/cases/{case_id}/submit", json={"evidence": [photo]}, headers=lead)).is_success
    row = await api.stack.store.get_case(case_id)
    # The case's own units read it because the case names it, not only the unit that uploaded it.
    uploads = api.app.state.api.uploads
    for unit in {row.territorial_unit, row.guarantee_unit, row.road_chief} - {None}:
        assert await may_read_evidence(uploads, unit, Role.UNIT, photo["sha256"])
    assert not await may_read_evidence(uploads, "st_huaxinjie", Role.UNIT, photo["sha256"])


async def test_401_for_no_or_an_unknown_key_403_for_a_known_key_without_the_right(api: Api) -> None:
    at = api.spot(index=50)
    checks = [
        ("GET", "/v1/cases", {}, None, 401),
        ("GET", "/v1/cases", {"Authorization": "Bearer rk_000000000000_unknown"}, None, 401),
        ("GET", "/v1/cases", {"Authorization": "Bearer not-even-a-key"}, None, 401),
        ("GET", "/v1/cases", {"X-Api-Key": api.keys["revoked"]}, None, 401),
        ("GET", "/v1/cases", api.auth("app"), None, 403),
        ("POST", "/open311/v2/requests.json", {}, form(api, at, api_key="rk_1_2"), 401),
        ("POST", "/open311/v2/requests.json", {}, form(api, at, api_key=api.keys["auditor"]), 403),
        ("POST", "/open311/v2/requests.json", api.auth("auditor"), form(api, at, api_key=""), 403),
    ]
    for method, path, headers, data, status in checks:
        response = await api.http.request(method, path, headers=headers, data=data)
        assert response.status_code == status, (path, headers, response.text)
        if status == 401:
            assert response.headers["www-authenticate"] == 'Bearer realm="rectify"'
    assert await api.stack.store.list_cases() == []


async def test_open311_takes_comma_separated_status_and_service_code(api: Api) -> None:
    a = (await api.report())["service_request_id"]
    b = (await api.report(code="posters_graffiti", at=api.spot("st_huaxinjie")))["service_request_id"]
    await api.stack.client.withdraw(b, Actor(unit_id="app_wechat", role=Role.REPORTER), "误报")
    find = "/open311/v2/requests.json"

    async def ids(**params: str) -> set[str]:
        response = await api.http.get(find, params=params)
        assert response.status_code == 200, response.text
        return {r["service_request_id"] for r in response.json()}

    assert await ids(status="open,closed") == {a, b}
    assert await ids(status="closed") == {b} and await ids(status="open") == {a}
    assert await ids(service_code="street_vending,posters_graffiti") == {a, b}
    assert await ids(service_code="posters_graffiti", status="open,closed") == {b}
    unknown = await api.http.get(find, params={"service_code": "street_vending,dragons"})
    assert unknown.status_code == 404 and "dragons" in unknown.text
    assert (await api.http.get(find, params={"status": "open,pending"})).status_code == 400
    xml = await api.http.get("/open311/v2/requests.xml", params={"status": "open,closed"})
    assert len(ET.fromstring(xml.content).findall("request")) == 2
