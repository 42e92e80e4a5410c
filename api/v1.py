"""The units' API (/v1): their cases from the read model, one endpoint per command of the command table
(domain/command_table.py: `POST /v1/cases/{id}/claim`, …, `POST /v1/proceedings/{id}/explain`), evidence.

Every call names its actor by API key (`Authorization: Bearer rk_…` or `X-Api-Key`): none, or one we
do not know, is 401; a key whose role may not do the thing, 403. A unit sees and acts on its own
cases only; auditors only read. Commands are idempotent under an `Idempotency-Key` header.
"""

import base64
import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from rectify.api import docs, schemas
from rectify.api.auth import presented_key
from rectify.api.bodies import body_model as body_model_for
from rectify.api.idempotency import IdempotencyKey, key_from, once
from rectify.api.inputs import Text
from rectify.api.keys import ApiKey
from rectify.api.render import AUTHENTICATE
from rectify.client import CaseNotFound, CommandRejected, access
from rectify.client.evidence import EvidenceRejected, check_evidence, keep_photo, may_read_evidence, sniff
from rectify.domain.accountability import fold_proceeding
from rectify.domain.command_table import COMMANDS, CommandSpec, Stream
from rectify.domain.events import PROCEEDING_PREFIX
from rectify.domain.policy import PAGE_MAX
from rectify.domain.types import CaseStatus, Point, Role
from rectify.store.projections import CaseRow

router = APIRouter(prefix="/v1", tags=["units"])
READERS = {Role.UNIT, Role.DISPATCHER, Role.INSPECTOR, Role.AUDITOR, Role.REVIEWER}


async def caller(request: Request, presented: Annotated[str, Depends(presented_key)]) -> ApiKey:
    if not presented:
        raise HTTPException(401, "an API key is required: Authorization: Bearer rk_…", AUTHENTICATE)
    key = await request.app.state.api.key_for(presented)
    if key is None:
        raise HTTPException(401, "the API key is unknown or revoked", AUTHENTICATE)
    return key


Caller = Annotated[ApiKey, Depends(caller)]
CaseId = Annotated[Text, Path(max_length=100)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The photo's SHA-256, 64 lower-case hex digits")]


def _may_read(key: ApiKey, row: CaseRow) -> None:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot read cases here; use /open311/v2")
    if not access.may_read(key.role, key.unit_id, row.lead_unit):
        raise HTTPException(404, f"no case {row.case_id} for {key.unit_id}")  # not even whether it exists


def _cursor(row: CaseRow) -> str:
    return base64.urlsafe_b64encode(json.dumps([row.opened_at.isoformat(), row.case_id]).encode()).decode()


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        opened, case_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = datetime.fromisoformat(opened)
        if moment.tzinfo is None or "\x00" in str(case_id):
            raise ValueError("not ours")
        return moment, str(case_id)
    except (ValueError, TypeError, UnicodeError) as error:
        raise HTTPException(400, "cursor is not one this API gave out") from error


@router.get(
    "/cases",
    summary="List cases (newest first), with filters and cursor pagination",
    response_model=schemas.CaseList,
    responses=docs.v1(400, 401, 403, 429),
)
async def list_cases(
    key: Caller,
    request: Request,
    status: CaseStatus | None = None,
    category: Annotated[Text | None, Query(max_length=100)] = None,
    lead_unit: Annotated[Text | None, Query(max_length=100)] = None,
    grid_id: Annotated[Text | None, Query(max_length=100)] = None,
    escalation_level: Annotated[int | None, Query(ge=0, le=9)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[Text | None, Query(max_length=500)] = None,
    sort: Annotated[Literal["-opened_at", "opened_at"], Query(description="newest or oldest first")] = "-opened_at",
) -> dict:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot list cases; use /open311/v2")
    if (scope := access.scope_unit(key.role, key.unit_id)) is not None:
        if lead_unit not in (None, scope):
            raise HTTPException(403, f"{key.unit_id} may list only its own cases")
        lead_unit = scope
    cases = await request.app.state.api.cases.cases_page(
        status=status.value if status else None,
        category=category,
        lead_unit=lead_unit,
        grid_id=grid_id,
        escalation_level=escalation_level,
        after=_after(cursor) if cursor else None,
        newest_first=sort == "-opened_at",
        limit=limit + 1,
    )
    more = len(cases) > limit
    cases = cases[:limit]
    return {"cases": [r.model_dump(mode="json") for r in cases], "next_cursor": _cursor(cases[-1]) if more else None}


@router.get(
    "/cases/{case_id}",
    summary="A case with its full history",
    response_model=schemas.CaseDetail,
    responses=docs.v1(400, 401, 403, 404, 429),
)
async def get_case(case_id: CaseId, key: Caller, request: Request) -> dict:
    store = request.app.state.api.store
    row = await store.get_case(case_id)
    if row is None:
        raise HTTPException(404, f"no case {case_id[:100]}")
    _may_read(key, row)
    history = [e.model_dump(mode="json") for e in await store.load(case_id)]
    return {"case": row.model_dump(mode="json"), "history": history}


ProceedingId = Annotated[Text, Path(max_length=100, description="The proceeding's id (acc-…)")]


def _endpoint(spec: CommandSpec) -> Any:
    """The endpoint of one entry of the command table: its body is the entry's inputs (api/bodies.py)."""
    body_model = body_model_for(spec)

    async def act(request: Request, key: ApiKey, target: str, body: BaseModel, idempotency_key: str | None) -> Response:
        payload = body.model_dump(mode="json")

        async def execute() -> Response:
            return await _execute(request, key, spec, target, payload, idempotency_key)

        return await once(request, key.key_id, idempotency_key, payload, execute)

    if spec.stream is Stream.PROCEEDING:

        async def run(  # pyright: ignore[reportRedeclaration]  (one of the two, by the stream)
            proceeding_id: ProceedingId,
            body: body_model,  # type: ignore[valid-type]
            key: Caller,
            request: Request,
            idempotency_key: IdempotencyKey = None,
        ) -> Response:
            return await act(request, key, proceeding_id, body, idempotency_key)

    else:

        async def run(  # type: ignore[misc]
            case_id: CaseId,
            body: body_model,  # type: ignore[valid-type]
            key: Caller,
            request: Request,
            idempotency_key: IdempotencyKey = None,
        ) -> Response:
            return await act(request, key, case_id, body, idempotency_key)

    run.__name__ = f"{spec.stream.value}_{spec.method}"
    return run


async def _scope(api: Any, key: ApiKey, spec: CommandSpec, target: str) -> set[str]:
    """Whether this key may act on the case (or proceeding) at all; the units whose uploads it may cite."""
    row: CaseRow | None = None
    if spec.stream is Stream.PROCEEDING:
        events = await api.store.load_proceeding(target) if target.startswith(PROCEEDING_PREFIX) else []
        proceeding = fold_proceeding(events)
        if proceeding is None:
            raise HTTPException(404, f"no proceeding {target[:100]}")
        unit = proceeding.unit
    else:
        row = await api.store.get_case(target)
        if row is None:
            raise HTTPException(404, f"no case {target[:100]}")
        unit = row.lead_unit
    if key.role is Role.AUDITOR:
        raise HTTPException(403, "auditors only read")
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot act here; use /open311/v2")
    if not access.may_read(key.role, key.unit_id, unit):
        raise HTTPException(404, f"no {spec.stream} {target[:100]} for {key.unit_id}")  # not even whether it exists
    if row is not None and access.outside_area(key.role, key.areas, row.territorial_unit):
        message = (
            f"case {target[:100]} is in {row.territorial_unit or 'no territory'}, outside this inspector key's area"
            f" ({', '.join(key.areas)}); an inspector acts only on cases in its area"
        )
        raise HTTPException(403, {"rule": access.OUTSIDE_AREA, "message": message})
    return {key.unit_id, unit or ""}


async def _execute(
    request: Request, key: ApiKey, spec: CommandSpec, target: str, payload: dict, idempotency_key: str | None
) -> Response:
    api = request.app.state.api
    units = await _scope(api, key, spec, target)
    if "evidence" in payload:
        problem = await check_evidence(api.evidence, api.uploads, payload["evidence"], units)
        if problem:
            raise HTTPException(400, problem)
    seed = f"{key.key_id}/{key_from(idempotency_key)}" if idempotency_key else str(uuid.uuid4())
    command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rectify/v1/{target}/{spec.name}/{seed}"))
    try:
        built = spec.model(command_id=command_id, case_id=target, actor=key.actor, **payload)
    except ValidationError as error:  # a field the command's own model refuses: the client's input
        first = error.errors()[0]
        raise HTTPException(400, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    try:
        result = await api.client.execute(built)
    except CommandRejected as rejected:
        return JSONResponse({"error": {"rule": rejected.rule, "message": str(rejected)}}, status_code=409)
    except CaseNotFound:
        raise HTTPException(404, f"no {spec.stream} {target[:100]}") from None
    events = [e.model_dump(mode="json") for e in result.events]
    return JSONResponse({spec.stream.value: result.state.model_dump(mode="json"), "events": events})


for _spec in COMMANDS:
    _path = "/proceedings/{proceeding_id}" if _spec.stream is Stream.PROCEEDING else "/cases/{case_id}"
    router.post(
        f"{_path}/{_spec.name}",
        summary=_spec.help,
        response_model=schemas.ProceedingOut if _spec.stream is Stream.PROCEEDING else schemas.CommandOut,
        responses=docs.v1(400, 401, 403, 404, 409, 413, 422, 429),
    )(_endpoint(_spec))


@router.post(
    "/evidence",
    summary="Upload a photo: stored by its SHA-256; type checked by content",
    response_model=schemas.EvidenceOut,
    responses=docs.v1(400, 401, 403, 409, 413, 415, 422, 429),
)
async def upload_evidence(
    key: Caller,
    request: Request,
    file: Annotated[UploadFile, File()],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    if key.role is Role.AUDITOR:
        raise HTTPException(403, "auditors only read")
    api = request.app.state.api
    data = await file.read(api.max_evidence_bytes + 1)

    async def run() -> Response:
        given = Point(lon=lon, lat=lat) if lat is not None and lon is not None else None
        try:
            ref, exif = await keep_photo(
                api.evidence, api.uploads, key.unit_id, key.key_id, data, given, api.max_evidence_bytes
            )
        except EvidenceRejected as rejected:
            raise HTTPException(rejected.status, str(rejected)) from None
        return JSONResponse({"evidence": ref.model_dump(mode="json"), "exif": exif})

    fields = {"file": hashlib.sha256(data).hexdigest(), "lat": lat, "lon": lon}
    return await once(request, key.key_id, idempotency_key, fields, run)


@router.get(
    "/evidence/{sha256}",
    summary="A stored photo, to the case's units, dispatchers, inspectors and auditors",
    response_class=Response,
    responses={
        200: {
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png", "image/webp")
            },
            "description": "The photo",
        },
        **docs.v1(400, 401, 403, 404, 429),
    },
)
async def get_evidence(sha256: Sha256, key: Caller, request: Request) -> Response:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot read evidence")
    api = request.app.state.api
    if not await may_read_evidence(api.uploads, key.unit_id, key.role, sha256):
        raise HTTPException(404, f"no evidence {sha256} for {key.unit_id}")  # not even whether it exists
    try:
        data = api.evidence.get(sha256)
    except FileNotFoundError:
        raise HTTPException(404, f"no evidence {sha256}") from None
    return Response(data, media_type=sniff(data) or "application/octet-stream")
