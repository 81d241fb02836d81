"""Lean responses for the hot path, and the one place client-facing errors are rendered."""

from __future__ import annotations

from starlette.responses import Response

from shared.errors import PoolGateError, render

JSON_CONTENT_TYPE = (b"content-type", b"application/json")


class RawResponse(Response):
    """A complete body with ready-made raw headers: skips Starlette's header building."""

    def __init__(self, body: bytes, status_code: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        if status_code >= 200 and status_code not in (204, 304):
            headers.append((b"content-length", str(len(body)).encode()))
        self.raw_headers = headers


def style_for_path(path: str) -> str:
    """The error format of a route: Anthropic under /v1/messages, OpenAI elsewhere under /v1."""
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1/"):
        return "openai"
    return "plain"


def error_response(err: PoolGateError, style: str) -> RawResponse:
    headers = [JSON_CONTENT_TYPE]
    headers.extend((k.encode(), v.encode()) for k, v in err.headers().items())
    return RawResponse(render(err, style), err.status_code, headers)
