"""Taking an action on a case: `POST /cases/{id}/act/{command}`, for every case command of the table.

The form is checked field by field (web/forms.py); its photos are checked and stored as the API stores
evidence; the command goes through the SDK with the signed-in person as the actor and the form's own command
id, so sending it twice acts once. A refusal shows the case page again with the form open, what was typed kept,
each problem beside its field and the decider's rule in words. A form sent after the session ended keeps its
text for the same person, who signs in and finds it filled in again.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from rectify.client import CaseNotFound, CommandRejected, ServerUnavailable
from rectify.client.access import OUTSIDE_AREA
from rectify.client.evidence import keep_photo
from rectify.domain.command_table import BY_NAME, CommandSpec, InputKind, Stream
from rectify.domain.state import fold
from rectify.store.evidence import EvidenceRecords
from rectify.store.staff import StaffUser
from rectify.store.worklists import save_draft
from rectify.web.access import outside_area
from rectify.web.accounts import actor_of
from rectify.web.cases import _readable, case_context
from rectify.web.context import WebError, csrf_guard, current_user, render, web_of
from rectify.web.forms import TOKEN_FIELD, Posted, fields_for, read_posted
from rectify.web.panel import page_actions, tokens
from rectify.web.rejections import Refusal, area_words, in_words
from rectify.web.signin import safe_next

log = structlog.get_logger("rectify.web")
router = APIRouter(include_in_schema=False)
#: The most text kept of one field of a draft (the policy's longest text is far shorter).
DRAFT_CHARS = 20_000
_STALE = "此表单已过期，或不是为当前登录的账号打开的，本次提交未处理。请刷新页面后重新填写。"


def with_done(path: str, name: str) -> str:
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "draft")] + [("done", name)]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


@router.post("/cases/{case_id}/act/{name}")
async def act(request: Request, case_id: str, name: str) -> Response:
    spec = BY_NAME[Stream.CASE].get(name)
    if spec is None:
        raise WebError(404, f"没有名为「{name[:40]}」的办理事项。")
    form = await request.form()
    user = await current_user(request)
    if user is None:
        return await _keep_for_later(request, spec, case_id, form)
    await csrf_guard(request)
    user, row = await _readable(request, case_id)  # another unit's case is as absent as a missing one
    token = tokens(web_of(request)).read(_str(form, TOKEN_FIELD))
    if token is None or (token.name, token.case_id, token.action) != (user.name, case_id, name):
        raise WebError(400, _STALE, "提交未处理")
    actor = actor_of(user)
    if actor is None:
        raise WebError(403, "领导账号只能查看案件，不能办理。")
    web = web_of(request)
    state = fold(await web.store.load_case(case_id))
    if state is None:
        raise WebError(404, f"案件 {case_id} 没有记录。")
    back = safe_next(_str(form, "back") or f"/cases/{case_id}")
    posted = await read_posted(spec, fields_for(spec, state, web.policy), form)
    if outside_area(user, row):
        log.info("web.action_refused", case_id=case_id, action=name, user=user.name, rule=OUTSIDE_AREA)
        refusal = Refusal(area_words(web.policy, spec, user.areas, row.territorial_unit), OUTSIDE_AREA)
        return await _again(request, user, spec, case_id, posted, refusal, 403, back)
    if posted.errors:
        return await _again(request, user, spec, case_id, posted, None, 400, back)
    records = EvidenceRecords(web.store.pool)
    for field_name, photos in posted.photos.items():
        if photos:
            kept = [await keep_photo(web.evidence, records, user.unit_id, None, data, None) for data in photos]
            posted.inputs[field_name] = tuple(ref for ref, _ in kept)
    try:
        await web.client.run(spec.name, case_id, actor, command_id=token.command_id(), **posted.inputs)
    except CommandRejected as rejected:
        log.info("web.action_refused", case_id=case_id, action=name, user=user.name, rule=rejected.rule)
        state = fold(await web.store.load_case(case_id))
        refusal = in_words(spec, rejected, state, actor.role, web.policy)
        return await _again(request, user, spec, case_id, posted, refusal, 409, back)
    except CaseNotFound:
        raise WebError(404, f"案件 {case_id} 没有记录。") from None
    except ServerUnavailable:
        refusal = Refusal("暂时无法连接办理服务，本次未办理，填写的内容仍在。请稍后再提交。", "unavailable")
        return await _again(request, user, spec, case_id, posted, refusal, 503, back)
    log.info("web.action", case_id=case_id, action=name, user=user.name)
    return RedirectResponse(with_done(back, name), status_code=303)


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _again(
    request: Request,
    user: StaffUser,
    spec: CommandSpec,
    case_id: str,
    posted: Posted,
    refusal: Refusal | None,
    status: int,
    back: str,
) -> Response:
    """The case page again, the form open with what was typed, its problems beside the fields, a new token."""
    web = web_of(request)
    _, row = await _readable(request, case_id)
    context = await case_context(request, user, row)
    context |= await page_actions(web, user, context["state"], context["events"], back=back)
    form = next((f for f in context["actions"] if f.spec.name == spec.name), None)
    if form is not None:
        form.values, form.errors, form.refusal, form.open = posted.typed, posted.errors, refusal, True
        for field_name, photos in posted.photos.items():  # a browser never fills a file input again
            if photos:
                form.errors.setdefault(field_name, "照片无误，但本次未能提交，请重新选择照片。")
    elif refusal is not None:  # no longer offered: say why above the remaining forms, with what was typed
        context["refused"] = (spec.label, refusal)
        context["typed"] = "；".join(v for v in posted.typed.values() if v)
    return render(request, "case.html", context, status=status, user=user)


async def _keep_for_later(request: Request, spec: CommandSpec, case_id: str, form: FormData) -> Response:
    """A form sent by someone no longer signed in: nothing is done, but its text waits for its own author."""
    web = web_of(request)
    token = tokens(web).read(_str(form, TOKEN_FIELD))
    if token is None or (token.case_id, token.action) != (case_id, spec.name):
        raise WebError(403, "登录已过期，且表单来源无法确认，本次提交未处理。请重新登录后再办理。", "提交被拒绝")
    typed: dict[str, Any] = {
        i.name: _str(form, i.name)[:DRAFT_CHARS]
        for i in spec.inputs
        if i.kind is not InputKind.PHOTOS and _str(form, i.name)
    }
    target = f"/cases/{case_id}"
    if typed:
        draft = secrets.token_urlsafe(16)
        await save_draft(web.store.pool, draft, token.name, case_id, spec.name, typed)
        target += f"?draft={draft}"
    log.info("web.draft_kept", case_id=case_id, action=spec.name, user=token.name, fields=sorted(typed))
    anchor = f"#act-{case_id[:8]}-{spec.name}"
    location = f"/signin?expired={'kept' if typed else '1'}&next={quote(target + anchor, safe='')}"
    return RedirectResponse(location, status_code=303)
