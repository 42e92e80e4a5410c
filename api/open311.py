"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the city's categories and cases.

Reports are form-encoded and need an API key (`api_key`, or an `X-Api-Key` or bearer header); reads
are public and never show who reported. Coordinates are WGS84; `expected_datetime` is the current
rectification deadline and `agency_responsible` the lead unit. `status` and `service_code` take
comma-separated lists, as the specification allows.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from rectify.api import docs
from rectify.api.auth import presented_key
from rectify.api.idempotency import IdempotencyKey, key_from, once
from rectify.api.inputs import Text
from rectify.api.render import AUTHENTICATE, errors, respond
from rectify.api.schemas import Created, ReportForm, RequestOut, ServiceDefinition, ServiceOut
from rectify.client import CommandRejected
from rectify.domain.errors import DomainError
from rectify.domain.policy import SEARCH_MAX
from rectify.domain.types import CLOSED_STATUSES, Point, Role
from rectify.store.projections import CaseRow

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])
Format = Literal["json", "xml"]
_GROUPS = {"territorial": "属地管理", "department": "职能部门", "road_chief": "路长制"}
#: The one attribute every service takes: where exactly, in words (Open311 service definition).
LOCATION_DETAIL = {
    "variable": True,
    "code": "location_detail",
    "datatype": "string",
    "required": False,
    "datatype_description": "Where exactly, e.g. 路口东北角",
    "order": 1,
    "description": "Where exactly",
}
#: Who may file a report: everyone the rules let report, but not those who only read or judge.
REPORTERS = frozenset({Role.REPORTER, Role.UNIT, Role.DISPATCHER, Role.INSPECTOR})
_STATUS_LIST = r"^(open|closed)(,(open|closed))*$"
#: RFC 3339 date-time, with its offset (W3C's profile of ISO 8601, as GeoReport v2 asks).
_MOMENT = Query(description="e.g. 2026-11-20T10:00:00+08:00", json_schema_extra={"format": "date-time"})
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


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
    closed = row.status in CLOSED_STATUSES
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
        "agency_responsible": agency or "",
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


@router.get(
    "/services.{fmt}",
    summary="The city's service types (categories)",
    response_model=list[ServiceOut],
    responses=docs.open311(400, 429),
)
async def services(fmt: Format, request: Request) -> Response:
    policy = request.app.state.city.policy
    return respond(fmt, "services", [_service(c) for _, c in sorted(policy.categories.items())])


@router.get(
    "/services/{service_code}.{fmt}",
    summary="A service definition (its attributes)",
    response_model=ServiceDefinition,
    responses=docs.open311(400, 404, 429),
)
async def service_definition(service_code: Annotated[Text, Path()], fmt: Format, request: Request) -> Response:
    policy = request.app.state.city.policy
    if service_code not in policy.categories:
        return errors(fmt, 404, f"service_code {service_code[:100]!r} not found")
    return respond(fmt, "service_definition", {"service_code": service_code, "attributes": [LOCATION_DETAIL]})


@router.post(
    "/requests.{fmt}",
    summary="Report a problem (form-encoded; api_key required)",
    response_model=list[Created],
    responses=docs.open311(400, 401, 403, 404, 409, 413, 422, 429),
)
async def create_request(
    fmt: Format,
    request: Request,
    form: Annotated[ReportForm, Form()],
    in_header: Annotated[str, Depends(presented_key)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    api = request.app.state.api
    key = await api.key_for(form.api_key or in_header)
    if key is None:
        return errors(fmt, 401, "api_key is missing, unknown or revoked", AUTHENTICATE)
    if key.role not in REPORTERS:
        return errors(fmt, 403, f"a {key.role.value} key cannot file reports")
    policy = request.app.state.city.policy
    if form.service_code not in policy.categories:
        return errors(fmt, 404, f"service_code {form.service_code[:100]!r} is not a service of this city")
    fields = form.model_dump(mode="json", by_alias=True, exclude={"api_key"})

    async def run() -> Response:
        return await _report(fmt, api, key, form, idempotency_key)

    return await once(request, key.key_id, idempotency_key, fields, run)


async def _report(fmt: str, api: Any, key: Any, form: ReportForm, idempotency_key: str | None) -> Response:
    name = api.city.policy.categories[form.service_code].name
    description = form.description.strip() or name
    if form.location_detail:
        description = f"{description}（{form.location_detail}）"
    contact = {
        k: v
        for k in ("email", "first_name", "last_name", "phone", "device_id", "account_id")
        if (v := getattr(form, k))
    }
    report_key = f"open311/{key.key_id}/{key_from(idempotency_key) or uuid.uuid4()}"
    try:
        result = await api.report(
            key,
            form.service_code,
            description,
            Point(lon=form.long, lat=form.lat),
            form.address_string or None,
            form.media_url or None,
            report_key,
            contact,
        )
    except (DomainError, CommandRejected) as error:
        return errors(fmt, 400, str(error))
    return respond(fmt, "service_requests", [result])


@router.get(
    "/requests.{fmt}",
    summary="Find service requests",
    response_model=list[RequestOut],
    responses=docs.open311(400, 404, 429),
)
async def find_requests(
    fmt: Format,
    request: Request,
    service_request_id: Annotated[Text | None, Query(description="Comma-separated ids (other filters ignored)")] = None,
    service_code: Annotated[Text | None, Query(description="Comma-separated service codes")] = None,
    start_date: Annotated[Text | None, _MOMENT] = None,
    end_date: Annotated[Text | None, _MOMENT] = None,
    status: Annotated[str | None, Query(pattern=_STATUS_LIST, description="open, closed, or open,closed")] = None,
) -> Response:
    policy = request.app.state.city.policy
    cases = request.app.state.api.cases
    if service_request_id is not None:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:SEARCH_MAX]
        rows = await cases.cases_by_id(ids)
        return respond(fmt, "service_requests", [request_json(r, policy) for r in rows])
    try:
        end = _when(end_date, "end_date") or datetime.now(UTC)
        start = _when(start_date, "start_date") or end - timedelta(days=90)
    except ValueError as error:
        return errors(fmt, 400, str(error))
    codes = None
    if service_code is not None:
        codes = [c.strip() for c in service_code.split(",") if c.strip()]
        unknown = [c for c in codes if c not in policy.categories]
        if unknown or not codes:
            return errors(fmt, 404, f"service_code {(unknown or [service_code])[0][:100]!r} not found")
    wanted = set((status or "open,closed").split(","))
    closed = None if wanted == {"open", "closed"} else wanted == {"closed"}
    rows = await cases.requests_between(start, end, codes, closed, CLOSED_STATUSES, SEARCH_MAX) if start <= end else []
    return respond(fmt, "service_requests", [request_json(r, policy) for r in rows])


def _when(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    if not _DATE_TIME.match(text):
        raise ValueError(f"{field} must be an RFC 3339 date-time like 2026-11-20T10:00:00+08:00")
    try:
        # A leap second (:60) is valid RFC 3339 but not a Python time: it is the second before.
        return datetime.fromisoformat(re.sub(r"(T\d{2}:\d{2}):60", r"\1:59", text.upper().replace(" ", "T")))
    except ValueError:
        raise ValueError(f"{field} is not a real moment (month, day, hour or offset out of range)") from None


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="One service request",
    response_model=list[RequestOut],
    responses=docs.open311(400, 404, 429),
)
async def get_request(service_request_id: Annotated[Text, Path()], fmt: Format, request: Request) -> Response:
    row = await request.app.state.api.store.get_case(service_request_id)
    if row is None:
        return errors(fmt, 404, f"service_request_id {service_request_id[:100]!r} not found")
    return respond(fmt, "service_requests", [request_json(row, request.app.state.city.policy)])
