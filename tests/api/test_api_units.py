"""The units' API (/v1): who may see and do what, idempotent commands, evidence, and a case worked to closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectify.devstack import EmbeddedPostgres
from tests.support.api import Api, api_stack, png, served


@pytest.fixture
async def api(pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(pg, tmp_path) as a:
        yield a


async def test_each_role_sees_and_does_only_what_it_may(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    http = api.http
    expect = [  # who, method, path, body, status
        ("none", "GET", "/v1/cases", None, 401),
        ("revoked", "GET", "/v1/cases", None, 401),
        ("app", "GET", "/v1/cases", None, 403),
        ("lead", "GET", "/v1/cases", None, 200),
        ("other", "GET", f"/v1/cases/{case_id}", None, 404),
        ("other", "GET", "/v1/cases?lead_unit=st_guanyinqiao", None, 403),
        ("auditor", "GET", f"/v1/cases/{case_id}", None, 200),
        ("auditor", "POST", f"/v1/cases/{case_id}/claim", {}, 403),
        ("other", "POST", f"/v1/cases/{case_id}/claim", {}, 404),
        ("dispatcher", "POST", f"/v1/cases/{case_id}/claim", {}, 409),  # the rules: only the lead unit claims
        ("lead", "POST", f"/v1/cases/{case_id}/verify", {"passed": True}, 409),
        ("lead", "POST", f"/v1/cases/{case_id}/claim", {}, 200),
    ]
    for who, method, path, body, status in expect:
        headers = {} if who == "none" else api.auth(who)
        response = await http.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (who, method, path, response.text)
        if status == 409:
            assert response.json()["error"]["rule"] in ("not_authorised", "wrong_status")  # the domain's rule name
    listed = (await http.get("/v1/cases", headers=api.auth("lead"))).json()
    assert [c["case_id"] for c in listed["cases"]] == [case_id]
    assert (await http.get("/v1/cases", headers=api.auth("other"))).json()["cases"] == []
    refused = await http.post(f"/v1/cases/{case_id}/claim", json={}, headers=api.auth("dispatcher"))
    assert refused.status_code == 409 and "claim needs the case to be dispatched" in refused.text


async def test_a_command_repeated_with_the_same_idempotency_key_happens_once(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    headers = api.auth("lead") | {"Idempotency-Key": "claim-once"}
    first = await api.http.post(f"/v1/cases/{case_id}/claim", json={}, headers=headers)
    again = await api.http.post(f"/v1/cases/{case_id}/claim", json={}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["events"] == again.json()["events"]
    assert [e.type for e in await api.stack.store.load(case_id)].count("case_claimed") == 1


async def test_bad_bodies_and_parameters_get_a_4xx_naming_the_field(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    lead = api.auth("lead")
    checks = [
        ("POST", f"/v1/cases/{case_id}/dispute", {"reason": ""}, 400, "reason"),
        ("POST", f"/v1/cases/{case_id}/extend", {"hours": "many", "reason": "x"}, 400, "hours"),
        ("POST", f"/v1/cases/{case_id}/submit", {"evidence": [], "note": ""}, 400, "evidence"),
        ("GET", "/v1/cases?limit=100000", None, 400, "limit"),
        ("GET", "/v1/cases?cursor=bm90LWpzb24", None, 400, "cursor"),
        ("GET", "/v1/cases/no-such-case", None, 404, "no-such-case"),
    ]
    for method, path, body, status, word in checks:
        response = await api.http.request(method, path, json=body, headers=lead)
        assert response.status_code == status, (path, response.text)
        assert word in response.text
    garbage = await api.http.post(f"/v1/cases/{case_id}/claim", content=b"{not json", headers=lead)
    assert garbage.status_code == 400


async def test_photos_are_checked_by_content_and_size_and_served_back(api: Api) -> None:
    lead = api.auth("lead")
    ok = await api.http.post("/v1/evidence", files={"file": ("a.txt", png(), "text/plain")}, headers=lead)
    assert ok.status_code == 200, ok.text
    ref = ok.json()["evidence"]
    assert ref["media_type"] == "image/png" and len(ref["sha256"]) == 64  # by content, not by name
    served = await api.http.get(f"/v1/evidence/{ref['sha256']}", headers=api.auth("auditor"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/png" and served.content == png()
    fake = await api.http.post(
        "/v1/evidence", files={"file": ("photo.jpg", b"GIF89a not really", "image/jpeg")}, headers=lead
    )
    assert fake.status_code == 415 and "not an accepted image" in fake.text
    big = await api.http.post(
        "/v1/evidence", files={"file": ("big.png", b"\0" * (11 * 1024 * 1024), "image/png")}, headers=lead
    )
    assert big.status_code == 413
    assert (await api.http.get(f"/v1/evidence/{ref['sha256']}", headers=api.auth("app"))).status_code == 403


async def test_a_unit_works_a_case_to_closed_through_v1_and_open311_shows_it(api: Api) -> None:
    case_id = (await api.report())["service_request_id"]
    photo = (
        await api.http.post("/v1/evidence", files={"file": ("p.png", png(), "image/png")}, headers=api.auth("lead"))
    ).json()["evidence"]
    steps = [
        ("lead", "claim", {}),
        ("lead", "submit", {"evidence": [photo], "note": "已整改"}),
        ("inspector", "verify", {"passed": True, "note": "核查通过"}),
    ]
    for who, action, body in steps:
        response = await api.http.post(f"/v1/cases/{case_id}/{action}", json=body, headers=api.auth(who))
        assert response.status_code == 200, response.text
    [shown] = (await api.http.get(f"/open311/v2/requests/{case_id}.json")).json()
    assert shown["status"] == "closed" and shown["expected_datetime"] is None
    detail = (await api.http.get(f"/v1/cases/{case_id}", headers=api.auth("lead"))).json()
    assert [e["type"] for e in detail["history"]][-2:] == ["case_closed", "deadline_set"]


async def test_the_third_party_georeport_client_follows_a_request_to_closed_while_the_unit_works_it(api: Api) -> None:
    from georeport import GeoReport

    case_id = (await api.report(media_url="https://img.example.cn/a.jpg"))["service_request_id"]
    async with served(api) as base:
        clients = [GeoReport(f"{base}/open311/v2", output_format=fmt) for fmt in ("json", "xml")]
        for client in clients:
            services = await asyncio.to_thread(client.get_service_list)
            assert "street_vending" in {s["service_code"] for s in services}
            followed = await asyncio.to_thread(client.get_service_request, case_id)
            assert followed["service_request_id"] == case_id and followed["status"] == "open"
        photo = (
            await api.http.post("/v1/evidence", files={"file": ("p.png", png(), "image/png")}, headers=api.auth("lead"))
        ).json()["evidence"]
        for who, action, body in (
            ("lead", "claim", {}),
            ("lead", "submit", {"evidence": [photo]}),
            ("inspector", "verify", {"passed": True}),
        ):
            assert (await api.http.post(f"/v1/cases/{case_id}/{action}", json=body, headers=api.auth(who))).is_success
        for client in clients:
            followed = await asyncio.to_thread(client.get_service_request, case_id)
            assert followed["status"] == "closed" and followed["media_url"] == "https://img.example.cn/a.jpg"
            found = await asyncio.to_thread(client.get_service_requests, service_code="street_vending", status="closed")
            found = found if isinstance(found, list) else [found]
            assert case_id in {r["service_request_id"] for r in found}


async def test_a_caller_over_its_rate_is_told_to_slow_down(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    async with api_stack(pg, tmp_path, rate=0.5, burst=3) as slow:
        answers = [await slow.http.get("/v1/cases", headers=slow.auth("lead")) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert answers[3].headers["retry-after"] == "2"  # a token comes back every 2 s at 0.5 a second
        assert (await slow.http.get("/v1/cases", headers=slow.auth("auditor"))).status_code == 200  # per key
        too_big = await slow.http.post(
            "/open311/v2/requests.json",
            content=b"x",
            headers={"content-length": str(50 * 1024 * 1024), "content-type": "application/x-www-form-urlencoded"},
        )
        assert too_big.status_code == 413 and too_big.json()[0]["code"] == 413


async def test_exif_time_and_gps_are_read_from_the_photo(api: Api) -> None:
    import io

    from PIL import Image

    image = Image.new("RGB", (8, 8), (10, 120, 10))
    exif = image.getexif()
    exif[0x0132] = "2026:11:20 10:15:00"  # DateTime
    exif[0x8825] = {1: "N", 2: (29.0, 34.0, 27.0), 3: "E", 4: (106.0, 32.0, 3.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    response = await api.http.post(
        "/v1/evidence", files={"file": ("x.bin", buffer.getvalue(), "application/x")}, headers=api.auth("lead")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["evidence"]["media_type"] == "image/jpeg" and body["exif"]["taken_at"] == "2026:11:20 10:15:00"
    assert abs(body["exif"]["gps"]["lat"] - 29.5742) < 1e-3
    assert abs(body["evidence"]["location"]["lon"] - 106.5342) < 1e-3  # the photo's GPS, as no place was given


async def test_oldest_first_pages_through_every_case_once(api: Api) -> None:
    made = [(await api.report(at=api.spot(index=i * 7)))["service_request_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "opened_at"} | ({"cursor": cursor} if cursor else {})
        page = (await api.http.get("/v1/cases", params=params, headers=api.auth("dispatcher"))).json()
        seen += [c["case_id"] for c in page["cases"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(set(made)) and len(seen) == len(set(seen))
