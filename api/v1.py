"""The units' API (/v1): their cases from the read model, one endpoint per command, evidence.

Every call names its actor by API key (`Authorization: Bearer rk_…`); a unit sees and acts on its
own cases only; auditors only read. Commands are idempotent under an `Idempotency-Key` header.
"""


import base64
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from rectify.api.evidence import EvidenceRejected, accept_photo
from rectify.api.keys import ApiKey
from rectify.client import CaseNotFound, CommandRejected
from rectify.domain import commands as c
from rectify.domain.types import EvidenceRef, Point, Role
from rectify.store.projections import CaseRow

router = APIRouter(prefix="/v1", tags=["units"])
READERS = {Role.UNIT, Role.DISPATCHER, Role.INSPECTOR, Role.AUDITOR, Role.REVIEWER}


async def caller(
    request: Request, authorization: str | None = Header(None), x_api_key: str | None = Header(None)
) -> ApiKey:
    presented = x_api_key or (authorization or "").removeprefix("Bearer ").strip()
    if not presented:
        raise HTTPException(401, "an API key is required: Authorization: Bearer rk_…")
    key = await request.app.state.api.key_for(presented)
    if key is None:
        raise HTTPException(403, "the API key is unknown or revoked")
    return key


Caller = Annotated[ApiKey, Depends(caller)]


def _may_read(key: ApiKey, row: CaseRow) -> None:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot read cases here; use /open311/v2")
    if key.role is Role.UNIT and row.lead_unit != key.unit_id:
        raise HTTPException(404, f"no case {row.case_id} for {key.unit_id}")  # not even whether it exists


def _cursor(row: CaseRow) -> str:
    return base64.urlsafe_b64encode(json.dumps([row.opened_at.isoformat(), row.case_id]).encode()).decode()


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        opened, case_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(opened), str(case_id)
    except (ValueError, TypeError) as error:
        raise HTTPException(400, "cursor is not one this API gave out") from error


@router.get("/cases", summary="List cases (newest first), with filters and cursor pagination")
async def list_cases(
    key: Caller,
    request: Request,
    status: str | None = None,
    category: str | None = None,
    lead_unit: str | None = None,
    grid_id: str | None = None,
    escalation_level: Annotated[int | None, Query(ge=0, le=9)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    sort: Annotated[Literal["-opened_at", "opened_at"], Query(description="newest or oldest first")] = "-opened_at",
) -> dict:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot list cases; use /open311/v2")
    if key.role is Role.UNIT:
        if lead_unit not in (None, key.unit_id):
            raise HTTPException(403, f"{key.unit_id} may list only its own cases")
        lead_unit = key.unit_id
    opened, after_id = _after(cursor) if cursor else (None, None)
    newest = sort == "-opened_at"
    # Keyset pagination: the cursor is the last row's (opened_at, case_id); the order decides the side.
    order, beyond = ("DESC", "<") if newest else ("ASC", ">")
    rows = await request.app.state.api.store.pool.fetch(
        f"""SELECT * FROM cases WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR category = $2)
           AND ($3::text IS NULL OR lead_unit = $3) AND ($4::text IS NULL OR grid_id = $4)
           AND ($5::int IS NULL OR escalation_level = $5)
           AND ($6::timestamptz IS NULL OR (opened_at, case_id) {beyond} ($6, $7))
           ORDER BY opened_at {order}, case_id {order} LIMIT $8""",
        status, category, lead_unit, grid_id, escalation_level, opened, after_id, limit + 1,
    )  # fmt: skip
    cases = [CaseRow(**dict(r)) for r in rows]
    more = len(cases) > limit
    cases = cases[:limit]
    return {"cases": [r.model_dump(mode="json") for r in cases], "next_cursor": _cursor(cases[-1]) if more else None}


@router.get("/cases/{case_id}", summary="A case with its full history")
async def get_case(case_id: str, key: Caller, request: Request) -> dict:
    store = request.app.state.api.store
    row = await store.get_case(case_id)
    if row is None:
        raise HTTPException(404, f"no case {case_id}")
    _may_read(key, row)
    history = [e.model_dump(mode="json") for e in await store.load(case_id)]
    return {"case": row.model_dump(mode="json"), "history": history}


class ReasonBody(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class SubmitBody(BaseModel):
    evidence: Annotated[list[EvidenceRef], Field(min_length=1, max_length=20)]
    note: Annotated[str, Field(max_length=2000)] = ""


class VerifyBody(BaseModel):
    passed: bool
    note: Annotated[str, Field(max_length=2000)] = ""


class ReassignBody(ReasonBody):
    to_unit: Annotated[str, Field(min_length=1, max_length=100)]


class ExtendBody(ReasonBody):
    hours: Annotated[float, Field(gt=0, le=24 * 90)]


class DecideBody(ReasonBody):
    granted: bool


class ApproveBody(ReasonBody):
    approved: bool


class FeedbackBody(BaseModel):
    satisfied: bool
    note: Annotated[str, Field(max_length=2000)] = ""


class Empty(BaseModel):
    pass


#: action -> (the command it issues, its JSON body, whose fields are the command's own)
ACTIONS: dict[str, tuple[type[c.CommandBase], type[BaseModel]]] = {
    "claim": (c.ClaimCase, Empty), "dispute": (c.DisputeCase, ReasonBody),
    "submit": (c.SubmitRectification, SubmitBody), "verify": (c.VerifyCase, VerifyBody),
    "reject": (c.RejectCase, ReasonBody), "withdraw": (c.WithdrawCase, ReasonBody),
    "reopen": (c.ReopenCase, ReasonBody), "reassign": (c.ReassignCase, ReassignBody),
    "uphold": (c.UpholdDispatch, ReasonBody), "extend": (c.RequestExtension, ExtendBody),
    "decide-extension": (c.DecideExtension, DecideBody), "suspend": (c.RequestSuspension, ReasonBody),
    "decide-suspension": (c.DecideSuspension, ApproveBody), "resume": (c.ResumeCase, ReasonBody),
    "feedback": (c.RecordFeedback, FeedbackBody),
}  # fmt: skip


def _endpoint(action: str, command: type[c.CommandBase], body_model: type[BaseModel]) -> Any:
    async def run(
        case_id: str, body: body_model, key: Caller, request: Request,  # type: ignore[valid-type]
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict:  # fmt: skip
        store = request.app.state.api.store
        row = await store.get_case(case_id)
        if row is None:
            raise HTTPException(404, f"no case {case_id}")
        if key.role is Role.AUDITOR:
            raise HTTPException(403, "auditors only read")
        _may_read(key, row)
        seed = f"{key.key_id}/{idempotency_key}" if idempotency_key else str(uuid.uuid4())
        command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rectify/v1/{case_id}/{action}/{seed}"))
        try:
            built = command(command_id=command_id, case_id=case_id, actor=key.actor, **body.model_dump())
            result = await request.app.state.api.client.execute(built)
        except CommandRejected as rejected:
            raise HTTPException(409, {"rule": rejected.rule, "message": str(rejected)}) from None
        except CaseNotFound:
            raise HTTPException(404, f"no case {case_id}") from None
        events = [e.model_dump(mode="json") for e in result.events]
        return {"case": result.state.model_dump(mode="json"), "events": events}

    run.__name__ = f"command_{action.replace('-', '_')}"
    return run


for _action, (_command, _body) in ACTIONS.items():
    router.post(f"/cases/{{case_id}}/{_action}", summary=f"{_command.__doc__ or _action}".split("\n")[0])(
        _endpoint(_action, _command, _body)
    )


@router.post("/evidence", summary="Upload a photo: stored by its SHA-256; type checked by content")
async def upload_evidence(
    key: Caller,
    request: Request,
    file: Annotated[UploadFile, File()],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
) -> dict:
    if key.role is Role.AUDITOR:
        raise HTTPException(403, "auditors only read")
    data = await file.read(request.app.state.api.max_evidence_bytes + 1)
    given = Point(lon=lon, lat=lat) if lat is not None and lon is not None else None
    try:
        ref, exif = accept_photo(request.app.state.api.evidence, data, given, request.app.state.api.max_evidence_bytes)
    except EvidenceRejected as rejected:
        raise HTTPException(rejected.status, str(rejected)) from None
    return {"evidence": ref.model_dump(mode="json"), "exif": exif}


@router.get("/evidence/{sha256}", summary="A stored photo, to authorised callers")
async def get_evidence(sha256: str, key: Caller, request: Request) -> Response:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot read evidence")
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise HTTPException(400, "sha256 must be 64 lower-case hex digits")
    store = request.app.state.api.evidence
    try:
        data = store.get(sha256)
    except FileNotFoundError:
        raise HTTPException(404, f"no evidence {sha256}") from None
    from rectify.api.evidence import sniff

    return Response(data, media_type=sniff(data) or "application/octet-stream")
