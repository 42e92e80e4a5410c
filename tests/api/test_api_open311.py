"""Open311 GeoReport v2 conformance, in JSON and XML, against the real stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from rectify.devstack import EmbeddedPostgres
from tests.support.api import Api, api_stack

REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


@pytest.fixture
async def api(pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Api]:
    async with api_stack(pg, tmp_path) as a:
        yield a


async def test_services_list_every_category_with_the_specified_fields_in_json_and_xml(api: Api) -> None:
    services = (await api.http.get("/open311/v2/services.json")).json()
    assert len(services) == len(api.stack.city.policy.categories)
    first = next(s for s in services if s["service_code"] == "street_vending")
    assert set(first) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert (first["service_name"], first["metadata"], first["type"]) == ("占道经营", True, "realtime")
    xml = await api.http.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    assert root.find("service/metadata").text in ("true", "false")
    definition = (await api.http.get("/open311/v2/services/street_vending.json")).json()
    assert definition["service_code"] == "street_vending" and definition["attributes"][0]["code"] == "location_detail"


async def test_a_report_is_dispatched_and_followed_without_revealing_the_reporter(api: Api) -> None:
    lat, lon = api.spot()
    contact = {"email": "zhang@example.cn", "first_name": "张", "phone": "13800000000"}
    detail = {"attribute[location_detail]": "路口东北角", "media_url": "https://img.example.cn/1.jpg"}
    created = await api.report(at=(lat, lon), **contact, **detail)
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    case_id = created["service_request_id"]
    [shown] = (await api.http.get(f"/open311/v2/requests/{case_id}.json")).json()
    assert set(shown) == REQUEST_FIELDS
    assert (shown["status"], shown["service_code"], shown["lat"], shown["long"]) == ("open", "street_vending", lat, lon)
    assert shown["expected_datetime"].endswith("Z") and shown["agency_responsible"]
    assert shown["media_url"] == "https://img.example.cn/1.jpg" and "路口东北角" in shown["description"]
    every_body = [
        (await api.http.get(p)).text
        for p in (
            f"/open311/v2/requests/{case_id}.json",
            f"/open311/v2/requests/{case_id}.xml",
            "/open311/v2/requests.json",
        )
    ]
    for body in every_body:
        assert "zhang@example.cn" not in body and "13800000000" not in body and "张" not in body
    events = await api.stack.store.load(case_id)
    assert "zhang@example.cn" not in str([e.model_dump() for e in events])
    root = ET.fromstring((await api.http.get(f"/open311/v2/requests/{case_id}.xml")).content)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == case_id


async def test_errors_are_the_specified_list_with_the_right_status(api: Api) -> None:
    app = api.keys["app"]
    cases = [
        ({"service_code": "street_vending", "lat": "29.6", "long": "106.57"}, 401, "api_key"),
        ({"api_key": api.keys["revoked"], "service_code": "street_vending", "lat": "29.6", "long": "106.57"}, 401, ""),
        ({"api_key": app, "service_code": "dragons", "lat": "29.6", "long": "106.57"}, 404, "dragons"),
        ({"api_key": app, "service_code": "street_vending", "lat": "north", "long": "106.57"}, 400, "lat"),
        ({"api_key": app, "service_code": "street_vending", "address_string": "观音桥"}, 400, "lat"),
        ({"api_key": app, "service_code": "street_vending", "lat": "39.9", "long": "116.4"}, 400, ""),
    ]
    for form, status, word in cases:
        response = await api.http.post("/open311/v2/requests.json", data=form)
        assert response.status_code == status, (form, response.text)
        [error] = response.json()
        assert set(error) == {"code", "description"} and error["code"] == status and word in error["description"]
    xml = await api.http.post("/open311/v2/requests.xml", data={"service_code": "x", "lat": "29.6", "long": "106.57"})
    assert xml.status_code == 401 and ET.fromstring(xml.content).find("error/code").text == "401"
    assert (await api.http.get("/open311/v2/requests/nope.json")).status_code == 404
    assert (await api.http.get("/open311/v2/requests.json", params={"start_date": "yesterday"})).status_code == 400
    assert (await api.http.get("/open311/v2/requests.json", params={"status": "pending"})).status_code == 400


async def test_finding_requests_filters_by_id_code_status_and_dates(api: Api) -> None:
    a = (await api.report())["service_request_id"]
    far = api.spot("st_huaxinjie")
    b = (await api.report(code="posters_graffiti", at=far))["service_request_id"]
    by_id = (await api.http.get("/open311/v2/requests.json", params={"service_request_id": f"{a},{b}"})).json()
    assert {r["service_request_id"] for r in by_id} == {a, b}
    by_code = (await api.http.get("/open311/v2/requests.json", params={"service_code": "posters_graffiti"})).json()
    assert [r["service_request_id"] for r in by_code] == [b]
    assert (await api.http.get("/open311/v2/requests.json", params={"status": "closed"})).json() == []
    long_ago = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00+08:00"}
    assert (await api.http.get("/open311/v2/requests.json", params=long_ago)).json() == []


async def test_a_second_report_within_the_radius_joins_the_open_case_and_one_outside_does_not(api: Api) -> None:
    lat, lon = api.spot()
    first = await api.report(at=(lat, lon))
    radius = api.stack.city.policy.categories["street_vending"].duplicate_radius_m  # 50 m
    metre = 1 / 111_320  # degrees of latitude per metre
    near = await api.report(at=(lat + (radius - 2) * metre, lon))
    assert near["service_request_id"] == first["service_request_id"] and "并入" in near["service_notice"]
    far = await api.report(at=(lat + (radius + 5) * metre, lon))
    assert far["service_request_id"] != first["service_request_id"]
    other_kind = await api.report(code="posters_graffiti", at=(lat, lon))
    assert other_kind["service_request_id"] != first["service_request_id"]
    events = [e.type for e in await api.stack.store.load(first["service_request_id"])]
    assert events.count("duplicate_attached") == 1
