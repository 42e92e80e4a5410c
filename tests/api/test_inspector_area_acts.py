"""An inspector with an area (核查区域) acts only on the cases whose territory is in it, on every path: the web
pages (no form offered outside the area; a form sent from a stale page refused in Chinese, what was typed kept,
the case untouched) and /v1 (403 naming the rule `outside_area`).
Inside the area, and without one, the same inspector's action goes through. Over a real stack."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from rectify.api.keys import ApiKeyError, check_holder
from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.devstack import EmbeddedPostgres
from rectify.domain.types import Role
from tests.support.api import Api, api_stack, png

PASSWORD = "inspector-area-acts-2026"
HERE, ELSEWHERE = "st_guanyinqiao", "st_huaxinjie"


@pytest.fixture
async def api(pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(pg, tmp_path) as a:
        yield a


async def submitted(api: Api, index: int) -> str:
    """A case in 观音桥街道, claimed and submitted by its lead unit: awaiting verification."""
    case_id = (await api.report(at=api.spot(HERE, index)))["service_request_id"]
    lead = api.auth("lead")
    photo = (await api.http.post("/v1/evidence", files={"file": ("p.png", png(), "image/png")}, headers=lead)).json()
    for action, body in (("claim", {}), ("submit", {"evidence": [photo["evidence"]], "note": "已整改"})):
        response = await api.http.post(f"/v1/cases/{case_id}/{action}", json=body, headers=lead)
        assert response.status_code == 200, response.text
    row = await api.stack.store.get_case(case_id)
    assert row is not None and (row.status, row.territorial_unit) == ("submitted", HERE)
    return case_id


async def status(api: Api, case_id: str) -> str:
    row = await api.stack.store.get_case(case_id)
    assert row is not None
    return row.status


async def signed_in(api: Api, name: str, areas: list[str]) -> httpx.AsyncClient:
    await api.app.state.web.accounts.create(name, "office_inspection", "inspector", PASSWORD, areas)  # type: ignore[attr-defined]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://rectify.test")  # type: ignore[arg-type]
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await http.get("/signin")).text)
    assert token is not None
    answer = await http.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text
    return http


async def verify_on_the_page(http: httpx.AsyncClient, case_id: str) -> httpx.Response:
    """Open the case page, fill in its 核查 form (通过) and send it, as a browser does."""
    return await send_verify(http, case_id, (await http.get(f"/cases/{case_id}")).text)


async def send_verify(http: httpx.AsyncClient, case_id: str, page: str) -> httpx.Response:
    form = re.search(rf'<form method="post" action="/cases/{case_id}/act/verify".*?</form>', page, re.S)
    assert form is not None, "the verify form is offered on the case page"
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))
    return await http.post(f"/cases/{case_id}/act/verify", data=hidden | {"passed": "pass", "note": "现场已整改"})


async def test_an_inspector_acts_on_v1_only_in_its_area(api: Api) -> None:
    keys = api.app.state.api.keys  # type: ignore[attr-defined]
    policy = api.stack.city.policy
    outside, _ = await keys.create("office_inspection", Role.INSPECTOR, "外区核查", policy=policy, areas=[ELSEWHERE])
    inside, key = await keys.create("office_inspection", Role.INSPECTOR, "本区核查", policy=policy, areas=[HERE])
    assert key.areas == (HERE,)
    first, second = await submitted(api, 0), await submitted(api, 1)
    refused = await api.http.post(
        f"/v1/cases/{first}/verify", json={"passed": True}, headers={"Authorization": f"Bearer {outside}"}
    )
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["rule"] == "outside_area" and ELSEWHERE in error["message"] and HERE in error["message"]
    assert await status(api, first) == "submitted"
    done = await api.http.post(
        f"/v1/cases/{first}/verify", json={"passed": True}, headers={"Authorization": f"Bearer {inside}"}
    )
    assert done.status_code == 200, done.text
    assert await status(api, first) == "closed"
    whole = await api.http.post(f"/v1/cases/{second}/verify", json={"passed": False}, headers=api.auth("inspector"))
    assert whole.status_code == 200, whole.text  # a key without an area: the whole district


async def test_an_inspector_is_offered_no_form_outside_its_area_and_a_stale_one_is_refused(api: Api) -> None:
    case_id = await submitted(api, 2)
    away = await signed_in(api, "wang.jc", [ELSEWHERE])
    page = (await away.get(f"/cases/{case_id}")).text
    assert f'action="/cases/{case_id}/act/' not in page, "no form is offered outside the area"
    assert "本案属地为观音桥街道，不在您的核查区域（华新街街道）内，可以查看，不能办理。" in page
    # A form opened while the account still had the whole district, sent after its area was set.
    stale = await signed_in(api, "zhou.jc", [])
    opened = (await stale.get(f"/cases/{case_id}")).text
    assert f'action="/cases/{case_id}/act/verify"' in opened
    await api.app.state.web.accounts.set_areas("zhou.jc", [ELSEWHERE])  # type: ignore[attr-defined]
    refused = await send_verify(stale, case_id, opened)
    assert refused.status_code == 403, refused.text
    alert = re.search(r'<div class="alert alert-error" role="alert">.*?</div>\s*</div>', refused.text, re.S)
    assert alert is not None, "the refusal is shown above the case's forms"
    assert "未能核查：</strong>本案属地为观音桥街道，不在您的核查区域（华新街街道）内，不能核查。" in alert[0]
    assert "outside_area" in alert[0] and "您填写的内容：" in alert[0] and "现场已整改" in alert[0]
    assert await status(api, case_id) == "submitted"
    near = await signed_in(api, "li.jc", [HERE, ELSEWHERE])
    done = await verify_on_the_page(near, case_id)
    assert done.status_code == 303, done.text
    assert await status(api, case_id) == "closed"


def test_only_an_inspector_key_has_an_area_and_only_of_streets_and_towns() -> None:
    policy = load_city(DEFAULT_CITY_DIR).policy
    assert check_holder(policy, "office_inspection", Role.INSPECTOR, [HERE, ELSEWHERE, HERE]) == (HERE, ELSEWHERE)
    with pytest.raises(ApiKeyError, match="only an inspector key has an area"):
        check_holder(policy, "office_command", Role.DISPATCHER, [HERE])
    with pytest.raises(ApiKeyError, match="'dept_urban': not a street or town"):
        check_holder(policy, "office_inspection", Role.INSPECTOR, ["dept_urban"])
