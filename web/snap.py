"""随手拍 on the web: a phone-first form that files a report through the same intake as Open311 (the SDK's
`report`: the duplicate rule, the idempotency key), and the reporter's private follow link with 回访.

- The form carries a random key (hidden): the intake's idempotency key and the follow link both derive from it,
  so a retried form (a double tap, a lost answer) files once and gets the same link again.
- Nothing typed is lost: a form sent back with a problem keeps every field, and a photo that passed its checks is
  kept under its hash and carried in a signed hidden field, so it need not be chosen again.
- Filing is limited per address (a PostgreSQL token bucket, store/rate_limits.py, shared by every replica).
- The contact goes to `reporter_contacts` only; it is never logged, shown, or put into the record.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import re
import secrets
import uuid
from typing import Any

import asyncpg
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from rectify.client import CommandRejected
from rectify.client.evidence import EvidenceRejected, accept_photo, sniff
from rectify.domain.policy import EVIDENCE_MAX_BYTES
from rectify.domain.types import Actor, Channel, EvidenceRef, Point, Role
from rectify.store import rate_limits
from rectify.store.contacts import save_contact
from rectify.store.evidence import EvidenceError, EvidenceRecords
from rectify.store.follow import case_of_report, save_follow
from rectify.web.context import Web, render, session_of, web_of
from rectify.web.forms import photo_words
from rectify.web.sessions import CSRF_FIELD

log = structlog.get_logger("rectify.web")
# No router-wide CSRF guard: the form checks its token itself, so an expired one sends the form back filled in.
router = APIRouter(prefix="/public", include_in_schema=False)
#: Who files from the public pages, as the record names it (the person is never named there).
PUBLIC_WEB = Actor(unit_id="public_web", role=Role.REPORTER)
_KEY = re.compile(r"[A-Za-z0-9_-]{32,64}")
TEXT = {"description": 1000, "address": 200, "name": 50, "phone": 30, "email": 100}
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,19}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def new_key() -> str:
    return secrets.token_urlsafe(32)


def report_key(key: str) -> str:
    """The intake's idempotency key: a hash of the form's key, so the record (which keeps it) cannot give out the
    follow link, which is another hash of the same key."""
    return "web/" + hashlib.sha256(f"report/{key}".encode()).hexdigest()[:40]


def follow_token(key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"follow/{key}".encode()).digest()).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _seal(web: Web, key: str, sha: str) -> str:
    return hmac.new(web.secret.encode(), f"photo/{key}/{sha}".encode(), "sha256").hexdigest()[:32]


def _categories(web: Web) -> list[tuple[str, str]]:
    return [(code, spec.name) for code, spec in web.policy.categories.items()]


def _form(request: Request, values: dict[str, str], errors: dict[str, str], kept: str = "", status: int = 200) -> Any:
    context = {
        "v": values,
        "errors": errors,
        "kept": kept,
        "categories": _categories(web_of(request)),
        "max_photo_bytes": EVIDENCE_MAX_BYTES,
    }
    return render(request, "public_snap.html", context, status)


@router.get("/snap")
async def snap_form(request: Request) -> Response:
    return _form(request, {"key": new_key()}, {})


def _check(web: Web, values: dict[str, str]) -> tuple[dict[str, str], Point | None]:
    """Every problem of the typed fields, beside its field, in Chinese."""
    errors: dict[str, str] = {}
    if values["category"] not in web.policy.categories:
        errors["category"] = "请选择问题类别"
    if not values["description"]:
        errors["description"] = "请简要描述问题，例如：人行道上有流动摊贩"
    for name, limit in TEXT.items():
        if len(values[name]) > limit:
            errors[name] = f"不超过 {limit} 个字"
    place = None
    try:
        lat, lon = float(values["lat"]), float(values["lon"])
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError
        place = Point(lat=lat, lon=lon)
    except ValueError:
        errors["place"] = "请在地图上点选问题位置，或使用“定位到我的位置”"
    if values["phone"] and not _PHONE.fullmatch(values["phone"]):
        errors["phone"] = "电话号码格式不对，例如 13800001234 或 023-67890000"
    if values["email"] and not _EMAIL.fullmatch(values["email"]):
        errors["email"] = "电子邮箱格式不对，例如 name@example.cn"
    return errors, place


async def _photo(web: Web, form: FormData, key: str, place: Point | None) -> tuple[EvidenceRef | None, str | None]:
    """The photo sent now (checked and kept), or the one carried from an earlier try; or why there is none."""
    upload = form.get("photo")
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        data = await upload.read(EVIDENCE_MAX_BYTES + 1)
        try:  # checked once, read and kept off the event loop: decoding a photo is CPU work
            ref, _ = await asyncio.to_thread(accept_photo, web.evidence, data, place)
        except EvidenceRejected as rejected:
            return None, photo_words(rejected, data)
        uploads = EvidenceRecords(web.store.pool)
        await uploads.record_upload(ref.sha256, PUBLIC_WEB.unit_id, None, ref.size, ref.media_type)
        return ref, None
    carried = str(form.get("kept") or "")
    sha, _, seal = carried.partition(".")
    if sha and hmac.compare_digest(seal, _seal(web, key, sha)):
        try:
            data = web.evidence.get(sha)
        except (OSError, EvidenceError):
            return None, "之前上传的照片已失效，请重新拍摄或选择"
        media_type = sniff(data) or "application/octet-stream"
        return EvidenceRef(sha256=sha, size=len(data), media_type=media_type, location=place), None
    return None, "请拍摄或选择一张现场照片"


async def _wait(web: Web, request: Request) -> float:
    """Seconds until this address may file again (0: now). A database that does not answer lets it through."""
    limit = web.filing_limit
    who = f"web-report:{request.client.host if request.client else '?'}"
    try:
        return await rate_limits.take(web.store.pool, who, limit.rate, limit.burst)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("web.rate_limit_unavailable", error=type(error).__name__)
        return 0.0


#: Refusals by the intake's rules, beside the field they concern.
_RULE_FIELD = {
    "outside_district": ("place", "该位置不在本区范围内，请在地图上重新选择"),
    "unknown_category": ("category", "请选择问题类别"),
    "invalid_text": ("description", "描述中含有无法保存的字符，请删除后重试"),
}


@router.post("/snap")
async def snap(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    names = ("key", "category", "description", "address", "lat", "lon", "name", "phone", "email")
    values = {n: (v.strip() if isinstance(v := form.get(n), str) else "") for n in names}
    errors: dict[str, str] = {}
    session = session_of(request)
    token = form.get(CSRF_FIELD)
    if session is None or not session.csrf_ok(token if isinstance(token, str) else None):
        log.warning("web.csrf_refused", path=request.url.path)
        errors["form"] = "页面停留过久，安全令牌已失效，本次未提交。您填写的内容已保留，请重新选择照片后再次提交。"
        return _form(request, values, errors, "", 403)  # nothing kept from a request that may not be the visitor's
    if not _KEY.fullmatch(values["key"]):
        values["key"] = new_key()
        errors["form"] = "表单已过期，请核对后再次提交"
    key = values["key"]
    done = await case_of_report(web.store.pool, report_key(key))
    if done is not None:  # this form was filed already: the same answer again
        return RedirectResponse(f"/public/follow/{follow_token(key)}?filed=1", status_code=303)
    problems, place = _check(web, values)
    errors |= problems
    photo, problem = await _photo(web, form, key, place)
    kept = f"{photo.sha256}.{_seal(web, key, photo.sha256)}" if photo else ""
    if problem:
        errors["photo"] = problem
    if errors or photo is None or place is None:
        return _form(request, values, errors, kept, 400)
    if wait := await _wait(web, request):
        minutes = max(1, math.ceil(wait / 60))
        errors["form"] = f"提交过于频繁，请 {minutes} 分钟后再试。您填写的内容和照片已保留。"
        return _form(request, values, errors, kept, 429)
    try:
        ref = await web.client.report(
            idempotency_key=report_key(key),
            category=values["category"],
            description=values["description"],
            location=place,
            channel=Channel.SNAPSHOT,
            actor=PUBLIC_WEB,
            address=values["address"] or None,
            evidence=(photo,),
        )
    except CommandRejected as refused:
        field, words = _RULE_FIELD.get(refused.rule, ("form", "报告未能受理，请核对后重试"))
        log.info("web.report_refused", rule=refused.rule)
        return _form(request, values, {field: words}, kept, 400)
    contact = {k: values[k] for k in ("name", "phone", "email") if values[k]}
    if contact:
        await save_contact(web.store.pool, ref.case_id, report_key(key), contact)
    await save_follow(web.store.pool, token_hash(follow_token(key)), report_key(key), ref.case_id)
    log.info("web.report_filed", case_id=ref.case_id, duplicate=ref.duplicate)
    joined = "&joined=1" if ref.duplicate else ""
    return RedirectResponse(f"/public/follow/{follow_token(key)}?filed=1{joined}", status_code=303)


def feedback_command_id(token: str, answer: str, note: str) -> str:
    """A repeat of the same answer from the same link is the same command (it gets the first reply); another
    answer is another command, which the rules refuse once feedback is recorded."""
    digest = hashlib.sha256(f"{token_hash(token)}/{answer}/{note}".encode()).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rectify/feedback/{digest}"))
