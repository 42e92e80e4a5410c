"""Signing in and out."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from rectify.web.accounts import MAX_PASSWORD
from rectify.web.context import csrf_guard, current_user, render, session_of, web_of

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this server: never another host (an open redirect)."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/signin")
async def signin_form(request: Request, next: str = "/", expired: str = "") -> Response:
    if await current_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    context = {"next": safe_next(next), "name": "", "errors": {}, "expired": expired[:10]}
    return render(request, "signin.html", context)


@router.post("/signin")
async def signin(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    name = name.strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 100:
        errors["name"] = "请输入账号" if not name else "账号不超过 100 个字符"
        name = name[:100]
    if not password or len(password) > MAX_PASSWORD:
        errors["password"] = "请输入密码" if not password else f"密码不超过 {MAX_PASSWORD} 个字符"
    status = 400
    if not errors:
        result = await web_of(request).accounts.sign_in(name, password, _address(request))
        if result.user is not None:
            session = session_of(request)
            assert session is not None  # web_middleware gives every page request one
            session.sign_in(result.user.name, result.user.session_generation)
            return RedirectResponse(safe_next(next), status_code=303)
        if result.wait is not None:
            minutes = max(1, math.ceil(result.wait.total_seconds() / 60))
            errors["form"] = f"登录失败次数过多，已暂时锁定。请 {minutes} 分钟后再试。"
            status = 429
        elif result.reason == "disabled":
            errors["form"] = "该账号已停用，请联系系统管理员。"
            status = 403
        else:
            errors["form"] = "账号或密码不正确。"
    return render(request, "signin.html", {"next": safe_next(next), "name": name, "errors": errors}, status=status)


@router.post("/signout")
async def signout(request: Request) -> Response:
    session = session_of(request)
    assert session is not None  # web_middleware gives every page request one
    session.sign_out()
    return RedirectResponse("/signin", status_code=303)
