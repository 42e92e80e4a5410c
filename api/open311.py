"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the city's categories and cases.

Reports are form-encoded and need an api_key; reads are public and never show who reported.
Coordinates are WGS84; `expected_datetime` is the current rectification deadline and
`agency_responsible` the lead unit.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rectify.api.render import errors, respond
from rectify.client import CommandRejected
from rectify.domain.errors import DomainError
from rectify.domain.types import Point
from rectify.store.projections import CaseRow

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])
Format = Literal["json", "xml"]
_CLOSED = {"closed", "rejected", "withdrawn", "merged"}
_GROUPS = {"territorial": "属地管理", "department": "职能部门", "road_chief": "路长制"}
#: The one attribute every service takes: where exactly, in words (Open311 service definition).
LOCATION_DETAIL = {
    "variable": True, "code": "location_detail", "datatype": "string", "required": False,
    "datatype_description": "Where exactly, e.g. 路口东北角", "order": 1, "description": "Where exactly",
}  # fmt: skip
MAX_LIST = 1000


def _service(category: Any) -> dict:
    unit = "natural hours" if category.limit_kind.value == "natural" else "working hours"
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.name}: rectified within {category.rectify_limit_hours:g} {unit}",
        "metadata": True,
        "type": "realtime",
        "keywords": category.code.replace("_", ","),
        "group": _GROUPS.get(category.lead, category.lead),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def request_json(row: CaseRow, policy: Any) -> dict:
    """A case as Open311 shows it to anyone: no reporter, no internal ids beyond the case's own."""
    category = policy.categories.get(row.category)
    closed = row.status in _CLOSED
    unit = policy.units.get(row.lead_unit or "")
    agency = unit.name if unit else row.lead_unit
    notes = {"rejected": "不予立案", "withdrawn": "已撤回", "merged": "已合并至其他案件"}.get(row.status, "")
    return {
        "service_request_id": row.case_id,
        "status": "closed" if closed else "open",
        "status_notes": notes or row.status,
        "service_name": category.name if category else row.category,
        "service_code": row.category,
        "description": row.description,
        "agency_responsible": agency,
        "service_notice": f"本案件由{agency}负责整改" if agency else "",
        "requested_datetime": _iso(row.opened_at),
        "updated_datetime": _iso(row.updated_at or row.opened_at),
        "expected_datetime": None if closed else _iso(row.due_at),
        "address": row.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": row.lat,
        "long": row.lon,
        "media_url": row.media_url or "",
    }


@router.get("/services.{fmt}", summary="The city's service types (categories)")
async def services(fmt: Format, request: Request) -> Response:
    policy = request.app.state.city.policy
    return respond(fmt, "services", [_service(c) for _, c in sorted(policy.categories.items())])


@router.get("/services/{code}.{fmt}", summary="A service definition (its attributes)")
async def service_definition(code: str, fmt: Format, request: Request) -> Response:
    policy = request.app.state.city.policy
    if code not in policy.categories:
        return errors(fmt, 404, f"service_code {code!r} not found")
    return respond(fmt, "service_definition", {"service_code": code, "attributes": [LOCATION_DETAIL]})


@router.post("/requests.{fmt}", summary="Report a problem (form-encoded, api_key required)")
async def create_request(fmt: Format, request: Request) -> Response:
    form = await request.form()
    api = request.app.state.api
    key = await api.key_for(str(form.get("api_key") or request.headers.get("x-api-key") or ""))
    if key is None:
        return errors(fmt, 403, "api_key is missing, unknown or revoked")
    policy = request.app.state.city.policy
    code = str(form.get("service_code") or "")
    if code not in policy.categories:
        return errors(fmt, 400 if not code else 404, f"service_code {code!r} is not a service of this city")
    try:
        lat, lon = _float(form, "lat"), _float(form, "long")
    except ValueError as error:
        return errors(fmt, 400, str(error))
    if lat is None or lon is None:
        return errors(fmt, 400, "lat and long are required here: an address_string alone cannot be located")
    try:
        location = Point(lon=lon, lat=lat)
    except ValueError:
        return errors(fmt, 400, "lat must be within -90..90 and long within -180..180")
    name = policy.categories[code].name
    detail = str(form.get("attribute[location_detail]") or "")
    description = str(form.get("description") or "").strip() or name
    if detail:
        description = f"{description}（{detail}）"
    contact = {k: str(form[k]) for k in ("email", "first_name", "last_name", "phone", "device_id", "account_id")
               if form.get(k)}  # fmt: skip
    report_key = request.headers.get("idempotency-key") or str(uuid.uuid4())
    try:
        result = await api.report(
            key, code, description, location, str(form.get("address_string") or "") or None,
            str(form.get("media_url") or "") or None, f"open311/{key.key_id}/{report_key}", contact,
        )  # fmt: skip
    except (DomainError, CommandRejected) as error:
        return errors(fmt, 400, str(error))
    return respond(fmt, "service_requests", [result])


def _float(form: Any, field: str) -> float | None:
    raw = form.get(field)
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw))
    except ValueError:
        raise ValueError(f"{field} must be a number, got {str(raw)[:40]!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{field} must be a finite number")
    return value


@router.get("/requests.{fmt}", summary="Find service requests")
async def find_requests(
    fmt: Format,
    request: Request,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    policy = request.app.state.city.policy
    store = request.app.state.api.store
    if status not in (None, "open", "closed"):
        return errors(fmt, 400, "status must be open or closed")
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:MAX_LIST]
        rows = [r for i in ids if (r := await store.get_case(i)) is not None]
        return respond(fmt, "service_requests", [request_json(r, policy) for r in rows])
    try:
        end = _when(end_date, "end_date") or datetime.now(UTC)
        start = _when(start_date, "start_date") or end - timedelta(days=90)
    except ValueError as error:
        return errors(fmt, 400, str(error))
    if end < start:
        return errors(fmt, 400, "end_date is before start_date")
    if service_code is not None and service_code not in policy.categories:
        return errors(fmt, 404, f"service_code {service_code!r} not found")
    rows = await store.pool.fetch(
        """SELECT * FROM cases WHERE opened_at >= $1 AND opened_at <= $2 AND ($3::text IS NULL OR category = $3)
           AND ($4::text IS NULL OR ($4 = 'closed') = (status = ANY($5::text[])))
           ORDER BY opened_at DESC, case_id LIMIT $6""",
        start, end, service_code, status, sorted(_CLOSED), MAX_LIST,
    )  # fmt: skip
    return respond(fmt, "service_requests", [request_json(CaseRow(**dict(r)), policy) for r in rows])


def _when(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field} must be a W3C date-time like 2026-11-20T10:00:00+08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/requests/{request_id}.{fmt}", summary="One service request")
async def get_request(request_id: str, fmt: Format, request: Request) -> Response:
    row = await request.app.state.api.store.get_case(request_id)
    if row is None:
        return errors(fmt, 404, f"service_request_id {request_id!r} not found")
    return respond(fmt, "service_requests", [request_json(row, request.app.state.city.policy)])
