"""Console failures as pages: a browser that is not signed in goes to the sign-in page; any other
refusal (not found, forbidden, CSRF, a dependency down) is an HTML page with the same status code and
message the API would give, in the page's language. API and internal routes keep their JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.responses import Response

from services.account_service.console import web
from services.account_service.console.deps import SignInRequired, use_language
from shared.errors import PoolGateError

_JSON_PREFIXES = ("/api/", "/internal/", "/healthz", "/readyz", "/livez", "/metrics", "/openapi", "/docs")


def wants_page(request: Request) -> bool:
    path = request.url.path
    if path.startswith(_JSON_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "") or bool(request.headers.get("hx-request"))


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = "/sign-in" if exc.next_url in ("", "/") else f"/sign-in?next={quote(exc.next_url, safe='')}"
    return web.redirect(target, request=request)


def error_page(request: Request, exc: PoolGateError) -> Response:
    if not hasattr(request.state, "lang"):  # refused before the page's dependencies ran
        use_language(request)
    response = web.render(request, "error.html", status_code=exc.status_code, error=exc)
    response.headers.update(exc.headers())
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, sign_in_required)
