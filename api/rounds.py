"""The units' API for inspection points and rounds (/v1): a unit's points with their readiness, its rounds, a point's
records, and the round's two commands of the command table (`POST /v1/rounds`, `POST /v1/rounds/{id}/record`).

Keys as for cases (api/v1.py): a unit reads the points it answers for (属地 or 包保) and the rounds its inspectors
walk; the office and auditors read every unit's; only the roles the command table names may start or record.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from rectify.api import docs
from rectify.api.idempotency import IdempotencyKey, once
from rectify.api.inputs import Text
from rectify.api.keys import ApiKey
from rectify.api.v1 import READERS, Caller
from rectify.client import CaseNotFound, CommandRejected
from rectify.client.evidence import check_evidence
from rectify.domain.battle_map import BOARD_POINT, BoardPoint, by_unit, select
from rectify.domain.command_table import BY_NAME, Stream
from rectify.domain.points import ItemAnswer
from rectify.domain.types import Role
from rectify.store import inspections

router = APIRouter(prefix="/v1", tags=["points and rounds"])
START, RECORD = BY_NAME[Stream.ROUND]["start"], BY_NAME[Stream.ROUND]["record"]
UnitId = Annotated[Text, Path(max_length=100)]
PointId = Annotated[Text, Path(max_length=100)]
RoundId = Annotated[Text, Path(max_length=100, description="The round's id (without rd-)")]


class StartBody(BaseModel):
    points: Annotated[list[Annotated[str, Field(max_length=100)]], Field(min_length=1, max_length=500)]
    hours: Annotated[float | None, Field(gt=0, le=720)] = None
    round_id: Annotated[str | None, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{1,60}$")] = None


class RecordBody(BaseModel):
    point_id: Annotated[str, Field(max_length=100)]
    answers: Annotated[list[ItemAnswer], Field(min_length=1, max_length=100)]


def _reader(key: ApiKey, unit_id: str) -> None:
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot read points here")
    if key.role is Role.UNIT and key.unit_id != unit_id:
        raise HTTPException(403, f"{key.unit_id} may read only its own points and rounds")


def _point_out(row: BoardPoint) -> dict[str, Any]:
    return BOARD_POINT.dump_python(row, mode="json")


@router.get(
    "/units/{unit_id}/points",
    summary="A unit's inspection points (属地 or 包保) with their readiness now, and its readiness figure",
    responses=docs.v1(400, 401, 403, 404, 429),
)
async def unit_points(unit_id: UnitId, key: Caller, request: Request) -> dict:
    _reader(key, unit_id)
    api = request.app.state.api
    if unit_id not in api.city.policy.units:
        raise HTTPException(404, f"no unit {unit_id[:100]}")
    board = await api.client.battle_map()
    mine = select(board, unit=unit_id)
    ready = sum(1 for row in mine if row.readiness.level == "ready")
    return {"unit": unit_id, "ready": ready, "total": len(mine), "points": [_point_out(r) for r in mine]}


@router.get(
    "/units/{unit_id}/rounds",
    summary="The rounds a unit's inspectors walk, newest first",
    responses=docs.v1(400, 401, 403, 404, 429),
)
async def unit_rounds(unit_id: UnitId, key: Caller, request: Request) -> dict:
    _reader(key, unit_id)
    api = request.app.state.api
    if unit_id not in api.city.policy.units:
        raise HTTPException(404, f"no unit {unit_id[:100]}")
    rows = await api.client.rounds(unit=unit_id)
    return {"unit": unit_id, "rounds": [r.model_dump(mode="json") for r in rows]}


@router.get(
    "/points/{point_id}",
    summary="A point with its readiness, its inspection records and the cases its failures opened",
    responses=docs.v1(400, 401, 403, 404, 429),
)
async def get_point(point_id: PointId, key: Caller, request: Request) -> dict:
    api = request.app.state.api
    point = api.city.points.get(point_id)
    if point is None or (key.role is Role.UNIT and key.unit_id not in by_unit(point)):
        raise HTTPException(404, f"no point {point_id[:100]}")  # a unit's key: not even whether it exists
    if key.role not in READERS:
        raise HTTPException(403, f"a {key.role} key cannot read points here")
    [row] = await api.client.battle_map(point_ids=[point_id])  # this point only
    records = await inspections.point_records(api.store.pool, point_id)
    return {"point": _point_out(row), "records": [e.model_dump(mode="json") for e in records]}


@router.post("/rounds", summary=START.help, responses=docs.v1(400, 401, 403, 409, 422, 429))
async def start_round(
    body: StartBody, key: Caller, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    if key.role not in START.roles:
        raise HTTPException(403, f"a {key.role} key cannot start rounds")
    api = request.app.state.api

    async def run() -> Response:
        try:
            state = await api.client.start_round(
                point_ids=body.points, actor=key.actor, hours=body.hours, round_id=body.round_id
            )
        except CommandRejected as rejected:
            return JSONResponse({"error": {"rule": rejected.rule, "message": str(rejected)}}, status_code=409)
        return JSONResponse({"round": state.model_dump(mode="json")})

    return await once(request, key.key_id, idempotency_key, body.model_dump(mode="json"), run)


@router.post("/rounds/{round_id}/record", summary=RECORD.help, responses=docs.v1(400, 401, 403, 404, 409, 422, 429))
async def record_point(
    round_id: RoundId, body: RecordBody, key: Caller, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    if key.role not in RECORD.roles:
        raise HTTPException(403, f"a {key.role} key cannot record points")
    api = request.app.state.api
    payload = body.model_dump(mode="json")
    refs = [ref for answer in payload["answers"] for ref in answer["evidence"]]
    if refs and (problem := await check_evidence(api.evidence, api.uploads, refs, {key.unit_id})):
        raise HTTPException(400, problem)
    command_id = f"v1/{key.key_id}/{idempotency_key}" if idempotency_key else None

    async def run() -> Response:
        try:
            result = await api.client.record_point(
                round_id, body.point_id, key.actor, body.answers, command_id=command_id
            )
        except CommandRejected as rejected:
            return JSONResponse({"error": {"rule": rejected.rule, "message": str(rejected)}}, status_code=409)
        except CaseNotFound:
            raise HTTPException(404, f"no round {round_id[:100]}") from None
        return JSONResponse(result.model_dump(mode="json"))

    return await once(request, key.key_id, idempotency_key, payload, run)
