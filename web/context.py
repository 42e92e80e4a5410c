"""What every page needs: the web's dependencies, the session middleware and headers, the signed-in person,
the CSRF guard, errors as Chinese pages, and rendering a template.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from rectify.client import RectifyClient
from rectify.domain.policy import Policy
from rectify.domain.types import EvidenceRef
from rectify.store.evidence import EvidenceStore
from rectify.store.staff import StaffStore, StaffUser
from rectify.web import labels, present
from rectify.web.accounts import Accounts, Throttle
from rectify.web.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, MAX_AGE, Session, SessionCodec

log = structlog.get_logger("rectify.web")
HERE = Path(__file__).parent
#: Paths the pages do not own: the APIs keep their own errors, headers and keys.
API_PREFIXES = ("/v1/", "/open311/", "/docs", "/redoc", "/openapi.json")
#: Served as files: no session is read or written for them.
ASSET_PREFIXES = ("/static/", "/city/")
#: Nothing loads from another host, nothing runs inline, no page may be framed.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(labels=labels, label=labels.label)


@dataclass(frozen=True)
class FilingLimit:
    """Reports filed on the public pages from one address (web/snap.py): `rate` a second on average, `burst` at once."""

    rate: float = 5 / 3600
    burst: int = 5


class Web:
    """The web's share of the server: the SDK client, the store's queries, accounts, evidence, the secret."""

    def __init__(
        self, client: RectifyClient, evidence_dir: Path, *, secret: str | None = None, throttle: Throttle | None = None
    ) -> None:
        self.client, self.store, self.city = client, client.store, client.city
        self.staff = StaffStore(client.store.pool)
        self.accounts = Accounts(self.staff, client.city.policy, throttle or Throttle())
        self.evidence = EvidenceStore(evidence_dir)
        #: The city's map layers as served, read once.
        self.layers: dict[str, str] = {}
        #: What "now" is for countdowns (a test on Temporal's time-skipping server sets the server's clock).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.filing_limit = FilingLimit()
        # Without a configured secret (a test's app), sessions last as long as this process.
        self.set_secret(secret or secrets.token_urlsafe(32))

    def set_secret(self, secret: str) -> None:
        self.secret = secret  # also signs the action forms' tokens (web/forms.py)
        self.sessions = SessionCodec(secret)

    @property
    def policy(self) -> Policy:
        return self.city.policy


class WebError(Exception):
    """A refusal shown as a page: an HTTP status and a sentence in Chinese."""

    def __init__(self, status: int, message: str, title: str | None = None) -> None:
        self.status, self.message = status, message
        self.title = title or {403: "无权访问", 404: "未找到"}.get(status, "无法完成")
        super().__init__(message)


class SignInRequired(Exception):
    pass


def web_of(request: Request) -> Web:
    return request.app.state.web


def session_of(request: Request) -> Session | None:
    return getattr(request.state, "session", None)


async def web_middleware(request: Request, call_next: Any) -> Response:
    path = request.url.path
    if path.startswith(API_PREFIXES):
        return await call_next(request)
    web = web_of(request)
    asset = path.startswith(ASSET_PREFIXES)
    session = None if asset else web.sessions.load(request.cookies.get(COOKIE))
    request.state.session = session
    try:
        response = await call_next(request)
    except Exception:  # a bug: logged in full, shown without internals
        log.exception("web.error", path=path)
        response = error_page(request, WebError(500, "服务器内部错误，已记录。请稍后重试。", "出错了"))
    if session is not None and session.changed:
        response.set_cookie(
            COOKIE,
            web.sessions.dump(session),
            max_age=int(MAX_AGE.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not asset:
        response.headers.setdefault("cache-control", "no-store")
    return response


async def current_user(request: Request) -> StaffUser | None:
    """The signed-in person, while the account exists, is enabled and the session is of its generation."""
    session = session_of(request)
    if session is None or session.name is None:
        return None
    user = await web_of(request).staff.get(session.name)
    if user is None or user.disabled or user.session_generation != session.generation:
        session.sign_out()
        return None
    return user


async def require_user(request: Request) -> StaffUser:
    user = await current_user(request)
    if user is None:
        raise SignInRequired
    return user


async def csrf_guard(request: Request) -> None:
    """Every request that changes something carries the session's token, as a form field or a header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    session = session_of(request)
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if session is None or not session.csrf_ok(presented):
        log.warning("web.csrf_refused", path=request.url.path)
        raise WebError(
            403, "表单已过期或来源不明（防伪令牌不符），本次提交未被处理。请返回刷新页面后重试。", "提交被拒绝"
        )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    user: StaffUser | None = None,
) -> HTMLResponse:
    web = web_of(request)
    session = session_of(request)
    base = {
        "request": request,
        "user": user,
        "csrf": session.csrf if session else "",
        "csrf_field": CSRF_FIELD,
        "policy": web.policy,
        "now": web.clock(),
        "p": present,
        "brand": brand(web.policy),
    }
    if user is not None:
        base |= {"unit_name": labels.unit_name(web.policy, user.unit_id), "nav": nav_for(user.role)}
    return templates.TemplateResponse(request, template, base | (context or {}), status_code=status)


def brand(policy: Policy) -> dict[str, str]:
    office = policy.dispatcher_units[0] if policy.dispatcher_units else None
    return {"city": policy.city, "office": labels.unit_name(policy, office) if office else ""}


#: Each role's navigation: (label, path). Pages of later steps add themselves here.
NAV: dict[str, list[tuple[str, str]]] = {
    "dispatcher": [("指挥中心", "/command"), ("全区案件", "/"), ("大屏", "/wall"), ("攻坚作战图", "/points")],
    "unit": [("工作台", "/workbench"), ("本单位案件", "/"), ("责任点位", "/points")],
    "inspector": [("现场核查", "/verify"), ("案件核查", "/"), ("巡查", "/rounds")],
    "leader": [
        ("本周排名", "/leader"),
        ("攻坚作战图", "/points"),
        ("督查通报", "/leader/bulletins"),
        ("全区案件", "/"),
        ("指挥中心", "/command"),
        ("大屏", "/wall"),
    ],
    "auditor": [("全部案件", "/"), ("指挥中心", "/command"), ("大屏", "/wall"), ("攻坚作战图", "/points")],
}


def nav_for(role: str) -> list[tuple[str, str]]:
    return NAV.get(role, [("案件", "/")])


def error_page(request: Request, error: WebError, user: StaffUser | None = None) -> Response:
    return render(request, "error.html", {"error": error}, status=error.status, user=user)


async def web_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, WebError)
    try:  # the signed-in person's bar and navigation, when the database answers
        user = await current_user(request)
    except Exception:
        user = None
    return error_page(request, error, user)


async def sign_in_handler(request: Request, error: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/signin?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"hx-redirect": location})
    return RedirectResponse(location, status_code=303)


_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def stored_photo(web: Web, ref: EvidenceRef | None, missing: str) -> Response:
    """A photo from the evidence store, served as an image only when it is one (anything else is downloaded)."""
    if ref is None:
        raise WebError(404, missing)
    try:
        data = web.evidence.get(ref.sha256)
    except FileNotFoundError:
        raise WebError(404, "照片文件不在本服务器的证据库中。") from None
    media_type = ref.media_type if ref.media_type in _IMAGE_TYPES else "application/octet-stream"
    return Response(data, media_type=media_type, headers={"cache-control": "private, max-age=86400"})
