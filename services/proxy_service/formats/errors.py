"""Upstream errors in the client's format (conversion.md §3).

The HTTP status decides the error type first (it is what the client's SDK and retry logic act on,
and the status itself is kept); the upstream's own type or code only refines a status the table does
not name, and marks a prompt that is too long in the words each API's clients look for.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats.client_format import CLAUDE, ClientFormat

_MAX_MESSAGE = 1000

_CLAUDE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
    529: "overloaded_error",
}
_CLAUDE_BY_OPENAI = {
    "invalid_request_error": "invalid_request_error",
    "invalid_api_key": "authentication_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "model_not_found": "not_found_error",
    "rate_limit_exceeded": "rate_limit_error",
    "rate_limit_error": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "server_error": "api_error",
    "service_unavailable": "overloaded_error",
    "overloaded": "overloaded_error",
}
_OPENAI_BY_CLAUDE = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "billing_error": "insufficient_quota",
    "api_error": "server_error",
    "overloaded_error": "server_error",
    "timeout_error": "server_error",
}
_CONTEXT_CODE = "context_length_exceeded"
_CLAUDE_TOO_LONG = "prompt is too long"


def claude_type(status: int | None, openai_type: Any = None, code: Any = None) -> str:
    if status in _CLAUDE_BY_STATUS:
        return _CLAUDE_BY_STATUS[status]
    for key in (code, openai_type):
        if isinstance(key, str) and key in _CLAUDE_BY_OPENAI:
            return _CLAUDE_BY_OPENAI[key]
    if status is not None and 400 <= status < 500:
        return "invalid_request_error"
    return "api_error"


def claude_error(status: int | None, error: Any) -> tuple[str, str]:
    """(type, message) for an OpenAI-style error object, string or None."""
    message, openai_type, code = _fields(error)
    if not message:
        message = f"upstream answered HTTP {status}" if status else "upstream error"
    if _CONTEXT_CODE in (code, openai_type) or "maximum context length" in message:
        return "invalid_request_error", f"{_CLAUDE_TOO_LONG}: {message}"
    return claude_type(status, openai_type, code), message


def claude_error_body(status: int, raw: bytes) -> bytes:
    """An OpenAI-format upstream's error answer as an Anthropic error body."""
    error_type, message = claude_error(status, _parsed(raw))
    return orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})


def openai_error(status: int | None, error: Any) -> dict[str, Any]:
    """An OpenAI `error` object for an Anthropic error object, string or None."""
    message, claude_kind, _ = _fields(error)
    if not message:
        message = f"upstream answered HTTP {status}" if status else "upstream error"
    if claude_kind not in _OPENAI_BY_CLAUDE:
        claude_kind = claude_type(status)
    code = _CONTEXT_CODE if _CLAUDE_TOO_LONG in message.lower() else None
    return {"message": message, "type": _OPENAI_BY_CLAUDE[claude_kind], "param": None, "code": code}


def openai_error_body(status: int, raw: bytes) -> bytes:
    """An Anthropic-format upstream's error answer as an OpenAI error body."""
    return orjson.dumps({"error": openai_error(status, _parsed(raw))})


def _parsed(raw: bytes) -> Any:
    """The error object of an error body: `{"error": {...}}` (both APIs), a bare object, or text."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace").strip()
    if isinstance(body, dict) and "error" in body:
        return body["error"]
    return body


def _fields(error: Any) -> tuple[str, Any, Any]:
    """(message, type, code) of an error object, in whichever of the usual shapes it came."""
    if isinstance(error, dict):
        message = error.get("message")
        if not isinstance(message, str):
            detail = error.get("detail", message)
            message = (
                detail if isinstance(detail, str) else "" if detail is None else orjson.dumps(detail).decode()
            )
        return message[:_MAX_MESSAGE], error.get("type"), error.get("code")
    if isinstance(error, str):
        return error[:_MAX_MESSAGE], None, None
    return "", None, None


def stream_error_event(fmt: ClientFormat, status: int, body: bytes) -> bytes:
    """An error answer (`body` as it would have gone out with `status`) as the client's stream error."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    claude = fmt.name == CLAUDE.name
    if not isinstance(error, dict):  # an upstream's text or HTML error page: its words, typed by status
        converted = claude_error_body(status, body) if claude else openai_error_body(status, body)
        error = orjson.loads(converted)["error"]
    if claude:
        return b"event: error\ndata: " + orjson.dumps({"type": "error", "error": error}) + b"\n\n"
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"
