"""Rendering console pages: one Jinja2 environment (autoescaped, with the i18n extension bound to
`i18n.gettext`), the context every page gets, and the headers every page carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal
from fastapi import Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse

from services.account_service.console import i18n

# Scripts and styles come only from this service (vendored into the package); no inline script runs.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none';"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

_BABEL_LOCALES = {"en": "en", "zh": "zh_Hans_CN"}

env = Environment(
    loader=PackageLoader("services.account_service.console", "templates"),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Jinja's newstyle gettext fills `%(name)s` itself, so it gets the bare look-ups.
env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: i18n.translations(i18n.current()).gettext(message),
    lambda singular, plural, n: i18n.translations(i18n.current()).ngettext(singular, plural, n),
    newstyle=True,
)


def _when(value: datetime | None, style: str = "medium") -> str:
    if value is None:
        return "—"
    return format_datetime(value, style, locale=_BABEL_LOCALES[i18n.current()])


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    """ "3 minutes ago" / "in 2 hours", in the page's language."""
    if value is None:
        return "—"
    now = now or datetime.now(value.tzinfo)
    return format_timedelta(
        value - now, add_direction=True, threshold=1.0, locale=_BABEL_LOCALES[i18n.current()]
    )


def _number(value: float | int | None) -> str:
    return "—" if value is None else format_decimal(value, locale=_BABEL_LOCALES[i18n.current()])


env.filters.update(when=_when, ago=_ago, number=_number, dict_merge=lambda d, other: {**d, **other})


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or, for an htmx request, whatever fragment `template` is) in the request's language."""
    lang = getattr(request.state, "lang", i18n.DEFAULT)
    i18n.use(lang)
    session = getattr(request.state, "console_session", None)
    page = {
        "request": request,
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "user": session.actor if session else None,
        "csrf_token": session.csrf_token if session else getattr(request.state, "pre_session_csrf", ""),
        "path": request.url.path,
        "query": request.url.query,
        "notice": request.query_params.get("notice"),
    }
    html = env.get_template(template).render(page | context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def redirect(url: str, *, request: Request | None = None) -> RedirectResponse | HTMLResponse:
    """After a form: 303 to the page to show (Post/Redirect/Get); for an htmx request, HX-Redirect."""
    if request is not None and request.headers.get("hx-request"):
        return HTMLResponse("", headers={"hx-redirect": url} | SECURITY_HEADERS)
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
