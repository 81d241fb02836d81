"""Every answer account_service gives to a failure is the plain error JSON of shared/errors.py (or,
for a browser on a console page, the same error as a page: console/errors.py).

FastAPI's own defaults (`{"detail": ...}` for an unknown route or method, a body it cannot parse,
plain text for an unexpected 500) would break the one shape clients and the internal client read.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from services.account_service.console import errors as console_errors
from shared.errors import (
    DependencyUnavailable,
    PoolGateError,
    Unprocessable,
    for_http_status,
    plain_body,
)
from shared.logging import get_logger
from shared.outages import UNAVAILABLE, dependency_name
from shared.responses import JSONResponse

log = get_logger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def poolgate_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PoolGateError)
    if console_errors.wants_page(request):  # a browser on a console page: the same error as a page
        return console_errors.error_page(request, exc)
    return JSONResponse(plain_body(exc), status_code=exc.status_code, headers=exc.headers())


async def unavailable(request: Request, exc: Exception) -> Response:
    """PostgreSQL (or Redis) unreachable while serving a request: 503 with the reason, never a 500."""
    name = dependency_name(exc)
    log.warning("account_service.dependency_unavailable", dependency=name, error=exc.__class__.__name__)
    err = DependencyUnavailable(f"{name} is unreachable right now; try again shortly", retry_after=5)
    return await poolgate_error(request, err)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        err = Unprocessable("body: not valid JSON", param="body")
    else:
        field = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        err = Unprocessable(f"{field}: {first['msg']}", param=field)
    return await poolgate_error(request, err)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals: an unknown route (404), a method (405), an unreadable body (a 422
    like every other input error)."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 400:  # FastAPI's only 400: a body it could not read as JSON (e.g. not UTF-8)
        return await poolgate_error(request, Unprocessable("body: not readable as JSON", param="body"))
    err = for_http_status(status)(str(exc.detail), status_code=status, code=_HTTP_CODES.get(status))
    response = await poolgate_error(request, err)
    response.headers.update(exc.headers or {})
    return response


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: JSON like every other answer, without details (the log has them)."""
    log.error(
        "account_service.unhandled_error", path=request.url.path, error=exc.__class__.__name__, exc_info=exc
    )
    return await poolgate_error(request, PoolGateError("internal error"))


def install(app: FastAPI) -> None:
    console_errors.install(app)
    app.add_exception_handler(PoolGateError, poolgate_error)
    for cls in UNAVAILABLE:
        if not issubclass(cls, PoolGateError):
            app.add_exception_handler(cls, unavailable)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
