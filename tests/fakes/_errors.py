"""Error bodies in each real API's format, so SDKs raise the same exception classes as in production."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes._content import new_id
from tests.fakes._control import json_response

# status -> (type, code, message) as the real API sends them.
_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def openai_error_body(status: int, message: str | None = None, **fields: Any) -> dict[str, Any]:
    fallback = ("invalid_request_error" if status < 500 else "server_error", None, f"HTTP {status}")
    etype, code, default = _OPENAI_ERRORS.get(status, fallback)
    return {"error": {"message": message or default, "type": etype, "param": None, "code": code, **fields}}


def openai_error(
    status: int, message: str | None = None, *, retry_after: Any = None, **fields: Any
) -> web.Response:
    headers = {"x-request-id": new_id("req_")}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
        if status == 429 and message is None:
            message = f"Rate limit reached for requests per min (RPM). Please try again in {retry_after}s."
    return json_response(openai_error_body(status, message, **fields), status=status, headers=headers)


_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def anthropic_error_body(
    status: int, message: str | None = None, error_type: str | None = None
) -> dict[str, Any]:
    default_type, default_message = _ANTHROPIC_ERRORS.get(
        status, ("invalid_request_error" if status < 500 else "api_error", f"HTTP {status}")
    )
    return {
        "type": "error",
        "error": {"type": error_type or default_type, "message": message or default_message},
        "request_id": new_id("req_"),
    }


def anthropic_error(
    status: int, message: str | None = None, *, error_type: str | None = None, retry_after: Any = None
) -> web.Response:
    body = anthropic_error_body(status, message, error_type)
    headers = {"request-id": body["request_id"]}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return json_response(body, status=status, headers=headers)
