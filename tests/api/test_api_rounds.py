"""The units' API for points and rounds (/v1): a round started and a point recorded over HTTP, a failed item's case,
a unit's points with their readiness, and who may see and do what; bad input is a 4xx, never a 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectify.devstack import EmbeddedPostgres
from tests.support.api import Api, api_stack, png


@pytest.fixture
async def api(pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(pg, tmp_path) as a:
        yield a


def answers(api: Api, point_id: str, failing: dict[str, list[dict]]) -> list[dict]:
    city = api.stack.city
    items = city.policy.inspection.point_categories[city.points[point_id].category].items
    return [
        {"item": i.code, "passed": False, "evidence": failing[i.code], "note": "垃圾桶满溢"}
        if i.code in failing
        else {"item": i.code, "passed": True}
        for i in items
    ]


async def test_a_round_over_http_and_each_units_points(api: Api) -> None:
    http, inspector = api.http, api.auth("inspector")
    started = await http.post(
        "/v1/rounds", json={"points": ["p001", "p002"], "round_id": "api-1"}, headers=api.auth("dispatcher")
    )
    assert started.status_code == 200, started.text
    assert started.json()["round"]["round_id"] == "api-1"

    photo = (await http.post("/v1/evidence", files={"file": ("bin.png", png(), "image/png")}, headers=inspector)).json()
    body = {"point_id": "p001", "answers": answers(api, "p001", {"bins_ok": [photo["evidence"]]})}
    recorded = await http.post("/v1/rounds/api-1/record", json=body, headers=inspector | {"Idempotency-Key": "form-1"})
    assert recorded.status_code == 200, recorded.text
    case_id = recorded.json()["cases"]["bins_ok"]
    again = await http.post("/v1/rounds/api-1/record", json=body, headers=inspector | {"Idempotency-Key": "form-1"})
    assert again.status_code == 200 and again.json()["cases"] == {"bins_ok": case_id}  # the same answer, once

    mine = (await http.get("/v1/units/st_huaxinjie/points", headers=api.auth("other"))).json()  # p001's street
    by_id = {p["point"]["point_id"]: p for p in mine["points"]}
    assert by_id["p001"]["readiness"]["level"] == "not_ready" and by_id["p001"]["open_cases"] == [case_id]
    assert by_id["p002"]["readiness"]["level"] == "stale" and mine["total"] == 4 and mine["ready"] == 0
    point = (await http.get("/v1/points/p001", headers=api.auth("other"))).json()
    assert [r["type"] for r in point["records"]] == ["point_inspected", "failure_case_opened"]
    rounds = (await http.get("/v1/units/office_inspection/rounds", headers=inspector)).json()["rounds"]
    assert [(r["round_id"], r["recorded"], r["failed"]) for r in rounds] == [("api-1", 1, 1)]


async def test_who_may_see_and_do_what_and_bad_input_is_refused(api: Api) -> None:
    http = api.http
    await http.post("/v1/rounds", json={"points": ["p001"], "round_id": "api-2"}, headers=api.auth("dispatcher"))
    passed = answers(api, "p001", {})
    expect = [  # who, method, path, body, status
        ("app", "GET", "/v1/units/st_huaxinjie/points", None, 403),
        ("lead", "GET", "/v1/units/st_huaxinjie/points", None, 403),  # another unit's points
        ("auditor", "GET", "/v1/units/st_huaxinjie/points", None, 200),
        ("lead", "GET", "/v1/points/p001", None, 404),  # not its point: not even whether it exists
        ("auditor", "GET", "/v1/points/p999", None, 404),
        ("auditor", "GET", "/v1/units/nobody/points", None, 404),
        ("inspector", "POST", "/v1/rounds", {"points": ["p001"]}, 403),
        ("auditor", "POST", "/v1/rounds", {"points": ["p001"]}, 403),
        ("dispatcher", "POST", "/v1/rounds", {"points": []}, 400),
        ("dispatcher", "POST", "/v1/rounds", {"points": ["p999"]}, 409),
        ("dispatcher", "POST", "/v1/rounds/api-2/record", {"point_id": "p001", "answers": passed}, 403),
        ("inspector", "POST", "/v1/rounds/api-2/record", {"point_id": "p001", "answers": "x"}, 400),
        ("inspector", "POST", "/v1/rounds/nope/record", {"point_id": "p001", "answers": passed}, 404),
    ]
    for who, method, path, body, status in expect:
        response = await http.request(method, path, json=body, headers=api.auth(who))
        assert response.status_code == status, (who, method, path, response.text)
    missing = {"point_id": "p001", "answers": answers(api, "p001", {})[:1]}
    refused = await http.post("/v1/rounds/api-2/record", json=missing, headers=api.auth("inspector"))
    assert refused.status_code == 409 and refused.json()["error"]["rule"] == "invalid_command"
    foreign = {"sha256": "ab" * 32, "size": 10, "media_type": "image/png"}
    body = {"point_id": "p001", "answers": answers(api, "p001", {"bins_ok": [foreign]})}
    unknown_photo = await http.post("/v1/rounds/api-2/record", json=body, headers=api.auth("inspector"))
    assert unknown_photo.status_code == 400 and "upload it first" in unknown_photo.text
