"""What every console page depends on: the page's language, the signed-in session (or a redirect to
the sign-in page) and, for every request that changes something, the CSRF check: the session's token
in the form (`csrf_token`) or in the `X-CSRF-Token` header (htmx sends it), and a same-origin request."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from services.account_service.console import i18n, sessions
from services.account_service.deps import Tx
from shared.errors import Forbidden

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page, and back here afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(Forbidden):
    code = "csrf_refused"


def use_language(request: Request) -> str:
    """The page's language (the switch's cookie, else the browser's), kept for rendering."""
    lang = i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    request.state.lang = lang
    i18n.use(lang)
    return lang


async def page_language(request: Request) -> str:
    return use_language(request)


Language = Annotated[str, Depends(page_language)]


async def console_session(request: Request, conn: Tx, _: Language) -> sessions.Session:
    token = request.cookies.get(sessions.COOKIE)
    session = None
    if token:
        settings = request.app.state.settings
        session = await sessions.load(
            conn,
            token=token,
            idle=timedelta(hours=settings.console_session_idle_h),
            now=request.app.state.days.now(),
        )
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method in _SAFE_METHODS else "/")
    request.state.console_session = session
    if request.method not in _SAFE_METHODS:
        await check_csrf(request, session.csrf_token)
    return session


async def admin_session(session: Annotated[sessions.Session, Depends(console_session)]) -> sessions.Session:
    if not session.actor.is_admin:
        raise Forbidden("this page is for admins", code="admin_only")
    return session


ConsoleSession = Annotated[sessions.Session, Depends(console_session)]
AdminSession = Annotated[sessions.Session, Depends(admin_session)]


async def check_csrf(request: Request, expected: str) -> None:
    if not same_origin(request):
        raise CsrfRefused("this request did not come from a page of this console")
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        given = (await request.form()).get(CSRF_FIELD)  # Starlette keeps the parsed form for the page
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused(
            "this form has expired or did not come from this console; reload the page and try again"
        )


def same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # "null": a sandboxed or privacy-stripped origin is not ours
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"
