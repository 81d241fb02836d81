"""One error hierarchy and its renderers.

Every expected failure is a `PoolGateError` subclass with an HTTP status and a kind; the renderer
turns it into the caller's own format: OpenAI `{"error": {...}}`, Anthropic
`{"type": "error", "error": {...}}`, or plain JSON for the management and internal APIs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson


class ErrorKind(StrEnum):
    invalid_request = "invalid_request"
    request_too_large = "request_too_large"
    authentication = "authentication"
    permission = "permission"
    not_found = "not_found"
    rate_limit = "rate_limit"
    upstream = "upstream"
    overloaded = "overloaded"
    unavailable = "unavailable"
    internal = "internal"


class PoolGateError(Exception):
    status_code: int = 500
    kind: ErrorKind = ErrorKind.internal
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.retry_after = retry_after
        self.extra = extra or {}

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(1, round(self.retry_after)))}


class InvalidRequest(PoolGateError):
    status_code = 400
    kind = ErrorKind.invalid_request


class Unprocessable(InvalidRequest):
    status_code = 422


class RequestTooLarge(PoolGateError):
    """A request body over the size limit. With `close_connection` the connection closes after the
    answer (a chunked body may never end); without it, the server reads the rest of a body whose
    length was declared and drops it, so the client is sure to read the answer (closing a socket
    with unread data resets it, and the answer can be lost with it)."""

    status_code = 413
    kind = ErrorKind.request_too_large
    code = "request_too_large"

    def __init__(self, message: str, *, close_connection: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.close_connection = close_connection

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.close_connection:
            headers["connection"] = "close"
        return headers


class RequestTimeout(PoolGateError):
    """A client that stopped sending its request body. The connection closes after the answer:
    keeping it for a client that stalls would only hold it longer."""

    status_code = 408
    kind = ErrorKind.invalid_request
    code = "request_timeout"

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "connection": "close"}


class ClientGone(PoolGateError):
    """The client closed the connection before its request was complete. Nobody reads the answer;
    499 (nginx's "client closed request") is for metrics and logs."""

    status_code = 499
    kind = ErrorKind.invalid_request
    code = "client_closed_request"


class Unauthenticated(PoolGateError):
    status_code = 401
    kind = ErrorKind.authentication


class Forbidden(PoolGateError):
    status_code = 403
    kind = ErrorKind.permission


class NotFound(PoolGateError):
    status_code = 404
    kind = ErrorKind.not_found


class Conflict(PoolGateError):
    status_code = 409
    kind = ErrorKind.invalid_request


class RateLimited(PoolGateError):
    status_code = 429
    kind = ErrorKind.rate_limit


class UpstreamError(PoolGateError):
    status_code = 502
    kind = ErrorKind.upstream


class NoAccountAvailable(PoolGateError):
    status_code = 503
    kind = ErrorKind.unavailable
    code = "no_account_available"


class DependencyUnavailable(PoolGateError):
    """A service PoolGate depends on (PostgreSQL, Redis, account_service) cannot be reached now."""

    status_code = 503
    kind = ErrorKind.unavailable
    code = "dependency_unavailable"


_OPENAI_TYPES = {
    ErrorKind.invalid_request: "invalid_request_error",
    ErrorKind.request_too_large: "invalid_request_error",
    ErrorKind.authentication: "authentication_error",
    ErrorKind.permission: "permission_error",
    ErrorKind.not_found: "not_found_error",
    ErrorKind.rate_limit: "rate_limit_error",
    ErrorKind.upstream: "upstream_error",
    ErrorKind.overloaded: "server_error",
    ErrorKind.unavailable: "service_unavailable",
    ErrorKind.internal: "server_error",
}
_ANTHROPIC_TYPES = {
    ErrorKind.invalid_request: "invalid_request_error",
    ErrorKind.request_too_large: "request_too_large",
    ErrorKind.authentication: "authentication_error",
    ErrorKind.permission: "permission_error",
    ErrorKind.not_found: "not_found_error",
    ErrorKind.rate_limit: "rate_limit_error",
    ErrorKind.upstream: "api_error",
    ErrorKind.overloaded: "overloaded_error",
    ErrorKind.unavailable: "overloaded_error",
    ErrorKind.internal: "api_error",
}


def openai_body(err: PoolGateError) -> dict[str, Any]:
    return {
        "error": {
            "message": err.message,
            "type": _OPENAI_TYPES[err.kind],
            "param": err.param,
            "code": err.code,
        }
    }


def anthropic_body(err: PoolGateError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ANTHROPIC_TYPES[err.kind], "message": err.message}}


def plain_body(err: PoolGateError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"kind": err.kind.value, "message": err.message}}
    if err.param:
        body["error"]["param"] = err.param
    if err.code:
        body["error"]["code"] = err.code
    if err.retry_after is not None:
        body["error"]["retry_after"] = err.retry_after
    body["error"].update(err.extra)
    return body


RENDERERS = {"openai": openai_body, "anthropic": anthropic_body, "plain": plain_body}


def render(err: PoolGateError, style: str) -> bytes:
    return orjson.dumps(RENDERERS[style](err))


_BY_STATUS: dict[int, type[PoolGateError]] = {
    400: InvalidRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    422: Unprocessable,
    429: RateLimited,
}


def for_http_status(status_code: int) -> type[PoolGateError]:
    """The error class for a framework's own refusal with this status (an unknown route, a method)."""
    return _BY_STATUS.get(status_code, InvalidRequest if status_code < 500 else PoolGateError)


def from_plain(status_code: int, body: dict[str, Any]) -> PoolGateError:
    """Rebuild an error another PoolGate service rendered as plain JSON."""
    error = body.get("error") or {}
    try:
        kind = ErrorKind(error.get("kind", ErrorKind.internal))
    except ValueError:  # a kind this version does not know (a newer peer): an internal error
        kind = ErrorKind.internal
    same = [c for c in _ALL if c.kind is kind and c.status_code == status_code]
    cls = next((c for c in same if c.code == error.get("code")), same[0] if same else PoolGateError)
    err = cls(
        error.get("message", "error"),
        param=error.get("param"),
        code=error.get("code"),
        status_code=status_code,
        retry_after=error.get("retry_after"),
    )
    err.kind = kind
    return err


_ALL = (
    InvalidRequest,
    Unprocessable,
    RequestTooLarge,
    RequestTimeout,
    ClientGone,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    UpstreamError,
    NoAccountAvailable,
    DependencyUnavailable,
)


def answered(status_code: int, body: Any) -> PoolGateError:
    """The refusal account_service answered (over HTTP or the allocation channel): its plain error
    rebuilt, or a 502 naming the status when the body is not one."""
    if isinstance(body, dict) and "error" in body:
        return from_plain(status_code, body)
    return PoolGateError(f"account_service answered {status_code}", status_code=502)
