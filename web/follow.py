"""The reporter's private follow link (/public/follow/TOKEN): the request id, the public steps, and 回访 once the
case is closed, recorded once through the `feedback` command of the command table (the reporter acts as
`public_web`). The page shows nothing personal, not even the reporter's own contact: a link passed on gives away
nothing but the right to answer 回访.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from rectify.client import CaseNotFound, CommandRejected
from rectify.domain import events as e
from rectify.domain.types import CaseStatus
from rectify.store.follow import followed_case
from rectify.store.public_cases import public_report
from rectify.web.context import WebError, csrf_guard, render, web_of
from rectify.web.public import public_steps, shown
from rectify.web.snap import PUBLIC_WEB, feedback_command_id, token_hash

log = structlog.get_logger("rectify.web")
router = APIRouter(prefix="/public/follow", dependencies=[Depends(csrf_guard)], include_in_schema=False)
NOTE_MAX = 500
ANSWERS = {"satisfied": True, "unsatisfied": False}


async def _page(request: Request, token: str, errors: dict[str, str], typed: dict[str, str], status: int) -> Response:
    web = web_of(request)
    case_id = await followed_case(web.store.pool, token_hash(token[:100]))
    found = await public_report(web.store.pool, case_id) if case_id else None
    if found is None:
        raise WebError(404, "这个跟踪链接无效。请核对链接，或按报告编号查询。")
    events = await web.store.load(found.case_id)
    answer = next((x for x in events if isinstance(x, e.FeedbackRecorded)), None)
    context = {
        **shown(web, found, web.clock()),
        "steps": public_steps(web, events),
        "token": token,
        "link": str(request.url_for("follow_page", token=token)),
        "filed": request.query_params.get("filed") == "1",
        "joined": request.query_params.get("joined") == "1",
        "thanks": request.query_params.get("thanks") == "1",
        "answer": answer,
        "may_answer": answer is None and found.status == CaseStatus.CLOSED,
        "errors": errors,
        "typed": typed,
        "note_max": NOTE_MAX,
    }
    return render(request, "public_follow.html", context, status)


@router.get("/{token}", name="follow_page")
async def follow_page(request: Request, token: str) -> Response:
    return await _page(request, token, {}, {}, 200)


@router.post("/{token}/feedback")
async def feedback(
    request: Request,
    token: str,
    satisfied: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    web = web_of(request)
    note = note.strip()
    errors: dict[str, str] = {}
    if satisfied not in ANSWERS:
        errors["satisfied"] = "请选择满意或不满意"
    if len(note) > NOTE_MAX:
        errors["note"] = f"意见不超过 {NOTE_MAX} 个字"
    typed = {"satisfied": satisfied[:20], "note": note[: NOTE_MAX * 2]}
    case_id = await followed_case(web.store.pool, token_hash(token[:100]))
    if case_id is None:
        raise WebError(404, "这个跟踪链接无效。请核对链接，或按报告编号查询。")
    if errors:
        return await _page(request, token, errors, typed, 400)
    found = await public_report(web.store.pool, case_id)
    if found is None or found.status != CaseStatus.CLOSED:  # asked before anything is sent or bound to an id
        return await _page(request, token, {"form": "报告办结后才能评价。"}, typed, 409)
    try:
        await web.client.run(
            "feedback",
            case_id,
            PUBLIC_WEB,
            command_id=feedback_command_id(token, satisfied, note),
            satisfied=ANSWERS[satisfied],
            note=note,
        )
    except CaseNotFound:
        raise WebError(404, "没有找到这份报告。") from None
    except CommandRejected as refused:
        log.info("web.feedback_refused", case_id=case_id, rule=refused.rule)
        # Closed a moment ago, so a refusal by status is an answer already recorded (or the case reopened since).
        answered = refused.rule in ("idempotency_key_reused", "wrong_status")
        words = "您已评价过这份报告，感谢您的反馈。" if answered else "暂时无法记录评价，请稍后重试。"
        return await _page(request, token, {"form": words}, typed, 409)
    log.info("web.feedback_recorded", case_id=case_id)
    return RedirectResponse(f"/public/follow/{token}?thanks=1", status_code=303)
