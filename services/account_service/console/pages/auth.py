"""Sign in, sign out, the language switch and changing one's own password.

The sign-in form has no session to carry a CSRF token yet, so it uses a double-submit token: a random
value in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/sign-in` that the form must echo."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.account_service.console import i18n, sessions, web
from services.account_service.console.deps import (
    CSRF_FIELD,
    ConsoleSession,
    CsrfRefused,
    Language,
    same_origin,
)
from services.account_service.console.i18n import _
from services.account_service.deps import Tx
from services.account_service.users import passwords
from shared.errors import PoolGateError

router = APIRouter()

_SIGN_IN_CSRF_COOKIE = "pg_sign_in"
_YEAR_S = 365 * 86_400


def local_target(next_url: str | None) -> str:
    """Where to go after signing in: a path of this console, never another site (`//evil`, `\\evil`)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return "/"
    return next_url


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _sign_in_page(
    request: Request, *, token: str, next_url: str, status_code: int = 200, **context
) -> Response:
    request.state.pre_session_csrf = token
    response = web.render(
        request, "sign_in.html", status_code=status_code, next_url=next_url, **{"error": None} | context
    )
    response.set_cookie(
        _SIGN_IN_CSRF_COOKIE,
        token,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
    )
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, _lang: Language, next: str = "/") -> Response:
    token = request.cookies.get(_SIGN_IN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    return _sign_in_page(request, token=token, next_url=local_target(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    conn: Tx,
    _lang: Language,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    expected = request.cookies.get(_SIGN_IN_CSRF_COOKIE, "")
    if (
        not same_origin(request)
        or not expected
        or not hmac.compare_digest(csrf_token.encode(), expected.encode())
    ):
        raise CsrfRefused(_("This sign-in form has expired; reload the page and try again."))
    settings = request.app.state.settings
    now = request.app.state.days.now()
    lockout = passwords.Lockout(
        max_failures=settings.sign_in_max_failures, first_s=settings.sign_in_lockout_s
    )
    result = await passwords.sign_in(
        conn, username=username.strip(), password=password, lockout=lockout, now=now
    )
    target = local_target(next)
    if isinstance(result, passwords.Refused):
        token = secrets.token_urlsafe(32)  # a fresh token for the next try
        if result.locked_until is not None:
            seconds = max(1, int((result.locked_until - now).total_seconds()))
            response = _sign_in_page(
                request,
                token=token,
                next_url=target,
                status_code=429,
                error=_(
                    "Too many failed sign-ins. Try again in %(minutes)s minute(s).", minutes=-(-seconds // 60)
                ),
                username=username,
            )
            response.headers["retry-after"] = str(seconds)
            return response
        return _sign_in_page(
            request,
            token=token,
            next_url=target,
            status_code=401,
            error=_("Wrong username or password."),
            username=username,
        )
    token = await sessions.start(
        conn, user_id=result.id, idle=timedelta(hours=settings.console_session_idle_h), now=now
    )
    response = web.redirect(target)
    response.set_cookie(
        sessions.COOKIE, token, httponly=True, samesite="lax", secure=_cookie_secure(request), path="/"
    )
    response.delete_cookie(_SIGN_IN_CSRF_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, conn: Tx, _session: ConsoleSession) -> Response:
    await sessions.end(conn, token=request.cookies.get(sessions.COOKIE, ""))
    response = web.redirect("/sign-in", request=request)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/language/{lang}")
async def switch_language(request: Request, lang: str, next: str = "/") -> Response:
    """The switch on every page: a link per language. It only sets a display preference (no account or
    session changes), so it is a plain link that works before signing in too."""
    response = web.redirect(local_target(next))
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=_YEAR_S, samesite="lax", secure=_cookie_secure(request), path="/"
        )
    return response


def password_error(password: str, exc: PoolGateError) -> str:
    """Why `passwords.check_new` refused a password, in the page's language."""
    if len(password) > passwords.MAX_LENGTH:
        return exc.message
    return _("A password needs at least %(n)s characters.", n=passwords.MIN_LENGTH)


@router.get("/account/password")
async def password_form(request: Request, _session: ConsoleSession) -> Response:
    return web.render(request, "password.html", errors={})


@router.post("/account/password")
async def change_password(
    request: Request,
    conn: Tx,
    session: ConsoleSession,
    current: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    new: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    repeat: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    errors: dict[str, str] = {}
    if not await passwords.matches(conn, user_id=session.actor.user_id, password=current):
        errors["current"] = _("This is not your current password.")
    elif new != repeat:
        errors["repeat"] = _("The two new passwords differ.")
    else:
        try:
            await passwords.set_password(
                conn, user_id=session.actor.user_id, password=new, keep_session=session.token_hash
            )
        except PoolGateError as exc:
            errors["new"] = password_error(new, exc)
    if errors:
        return web.render(request, "password.html", status_code=422, errors=errors)
    return web.redirect(f"/account/password?notice={quote('password_changed')}")
