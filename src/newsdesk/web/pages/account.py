"""Logging in and out, changing one's password, and the reader's settings (language, theme)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ... import accounts
from ...errors import NewsdeskError
from ..auth import SESSION_COOKIE, LoginThrottle, desk_of, login
from ..errors import ApiError
from .guard import (
    LOGIN_COOKIE,
    base_of,
    local_next,
    login_csrf_ok,
    new_login_token,
    page_user,
    read_form,
    session_id,
    to_login,
)
from .messages import LANGUAGES
from .render import LANG_COOKIE, SCROLL_COOKIE, THEME_COOKIE, THEMES, page, posted

YEAR = 365 * 86400


def _secure(request: Request) -> bool:
    return desk_of(request).secure_cookies or request.url.scheme == "https"


def router(throttle: LoginThrottle) -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    def login_page(request: Request, status: int = 200, error: str = "", name: str = "") -> Response:
        token = new_login_token()
        response = page(
            request,
            "login.html",
            None,
            status=status,
            error=error,
            name=name,
            login_csrf=token,
            next=local_next(request, request.query_params.get("next")),
        )
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=3600,
            path=base_of(request) + "/login",
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )
        return response

    @pages.get("/login")
    async def login_form(request: Request) -> Response:
        if await page_user(request) is not None:
            return RedirectResponse(local_next(request, request.query_params.get("next")), status_code=303)
        return login_page(request)

    @pages.post("/login")
    async def log_in(request: Request) -> Response:
        form = await read_form(request)
        if not login_csrf_ok(request, form):
            return login_page(request, 403, "表单已过期，请重试")
        desk = desk_of(request)
        client = request.client.host if request.client else "unknown"
        name, password = form.get("name", ""), form.get("password", "")
        try:
            _, session, _ = await desk.run(lambda: login(desk, throttle, client, name, password))
        except ApiError as e:
            message = "登录失败次数过多，请稍后再试" if e.status == 429 else "用户名或密码错误"
            return login_page(request, e.status, message, name)
        response = RedirectResponse(local_next(request, form.get("next")), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=desk.config.serve.session_days * 86400,
            path=base_of(request) + "/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        response.delete_cookie(LOGIN_COOKIE, path=base_of(request) + "/login")
        return response

    @pages.post("/logout")
    async def log_out(request: Request) -> Response:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        desk = desk_of(request)
        session = session_id(request)
        if session is not None:
            await desk.run(lambda: desk.store().remove_session(accounts.secret_hash(session)))
            request.app.state.user_cache.forget_session(session)
        response = RedirectResponse(base_of(request) + "/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=base_of(request) + "/", httponly=True, samesite="lax")
        return response

    @pages.get("/password")
    async def password_form(request: Request) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return page(request, "password.html", user, error="")

    @pages.post("/password")
    async def change_password(request: Request) -> Response:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        user, form = sent
        new = form.get("new", "")
        if new != form.get("again", ""):
            return page(request, "password.html", user, status=422, error="两次输入的新密码不一致")
        desk = desk_of(request)
        client = request.client.host if request.client else "unknown"

        def work() -> str:
            throttle.check(client)  # guessing the current password is a login attempt
            store = desk.store()
            if not accounts.verify_password(store.password_hash(user.name), form.get("current", "")):
                throttle.failed(client)
                return "当前密码不正确"
            try:
                store.set_password(user.name, accounts.hash_password(new))  # ends every session
            except NewsdeskError as e:
                return str(e)
            return ""

        try:
            error = await desk.run(work)
        except ApiError:
            error = "登录失败次数过多，请稍后再试"
        if error:
            return page(request, "password.html", user, status=422, error=error)
        session = session_id(request)
        if session is not None:
            request.app.state.user_cache.forget_session(session)
        response = page(request, "message.html", None, message_key="密码已修改，请重新登录", login_link=True)
        response.delete_cookie(SESSION_COOKIE, path=base_of(request) + "/", httponly=True, samesite="lax")
        return response

    @pages.get("/settings")
    async def settings_form(request: Request) -> Response:
        user = await page_user(request)
        if user is None:
            return to_login(request)
        return page(request, "settings.html", user, saved=False, languages=LANGUAGES, themes=THEMES)

    @pages.post("/settings")
    async def save_settings(request: Request) -> Response:
        sent = await posted(request)
        if isinstance(sent, Response):
            return sent
        _, form = sent
        response = RedirectResponse(base_of(request) + "/settings", status_code=303)
        for cookie, value, allowed in (
            (LANG_COOKIE, form.get("lang", ""), LANGUAGES),
            (THEME_COOKIE, form.get("theme", ""), THEMES),
            (SCROLL_COOKIE, form.get("scroll_read", ""), ("1",)),
        ):
            if value in allowed:
                response.set_cookie(
                    cookie,
                    value,
                    max_age=YEAR,
                    path=base_of(request) + "/",
                    httponly=True,
                    samesite="lax",
                    secure=_secure(request),
                )
            else:  # "": as the browser says
                response.delete_cookie(cookie, path=base_of(request) + "/")
        return response

    return pages
