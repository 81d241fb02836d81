"""The client's call, read once: its key, the few headers that matter, and the JSON body.

The body is decoded with orjson and checked by hand (no pydantic on the hot path); the raw bytes
are kept so that an unchanged body is forwarded exactly as the client sent it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson
from starlette.requests import Request

from services.proxy_service.formats import ClientFormat
from services.proxy_service.relay.session import AFFINITY_HEADER, Session, session_of
from shared.errors import InvalidRequest, Unauthenticated


class ClientRequest:
    __slots__ = (
        "anthropic_beta",
        "anthropic_version",
        "api_key",
        "body",
        "model",
        "query",
        "raw",
        "session",
        "stream",
    )

    def __init__(
        self,
        *,
        api_key: str,
        raw: bytes,
        body: dict[str, Any],
        anthropic_version: str | None = None,
        anthropic_beta: str | None = None,
        query: str = "",
        session: Session | None = None,
    ) -> None:
        self.api_key = api_key
        self.raw = raw
        self.body = body
        self.model: str = body["model"]
        self.stream = body.get("stream") is True
        self.anthropic_version = anthropic_version
        self.anthropic_beta = anthropic_beta
        self.query = query
        self.session = session  # the conversation's sticky-session key (relay/session.py)


class ClientHeaders(NamedTuple):
    api_key: str | None
    anthropic_version: str | None
    anthropic_beta: str | None
    affinity: str | None  # `x-session-affinity`


_AFFINITY = AFFINITY_HEADER.encode()


def read_headers(raw_headers: list[tuple[bytes, bytes]]) -> ClientHeaders:
    """What the relay reads from the client's ASGI headers (lower-case names), in one pass."""
    bearer = x_api_key = version = beta = affinity = None
    for name, value in raw_headers:
        if name == b"authorization":
            if value[:7].lower() == b"bearer ":
                bearer = value[7:].strip()
        elif name == b"x-api-key":
            x_api_key = value.strip()
        elif name == b"anthropic-version":
            version = value
        elif name == b"anthropic-beta":
            beta = value if beta is None else beta + b"," + value
        elif name == _AFFINITY:
            affinity = value
    key = bearer or x_api_key
    return ClientHeaders(
        key.decode("latin-1") if key else None,
        version.decode("latin-1") if version else None,
        beta.decode("latin-1") if beta else None,
        affinity.decode("latin-1") if affinity else None,
    )


_CHECKS = {
    "model": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "messages": (lambda v: isinstance(v, list), "an array"),
    "max_tokens": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
}


def json_object(raw: bytes) -> dict[str, Any]:
    """A client's request body, which must be one JSON object."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(_json_problem(raw, exc)) from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def _json_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """What is wrong with a body orjson refused, in words a client can act on. orjson checks UTF-8
    over the whole input first and reports position 0 for it, so the bad byte is found here."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"the request body is not valid JSON: invalid UTF-8 at byte {bad.start}"
    return f"the request body is not valid JSON: {exc.msg} at character {exc.pos}"


def parse_body(raw: bytes, fmt: ClientFormat) -> dict[str, Any]:
    body = json_object(raw)
    for field in fmt.required:
        value = body.get(field)
        if value is None:
            raise InvalidRequest(f"`{field}` is required", param=field)
        check = _CHECKS.get(field)
        if check is not None and not check[0](value):
            raise InvalidRequest(f"`{field}` must be {check[1]}", param=field)
    return body


async def read_client_request(request: Request, fmt: ClientFormat) -> ClientRequest:
    scope = request.scope
    api_key, version, beta, affinity = read_headers(scope["headers"])
    if api_key is None:
        raise Unauthenticated("missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`")
    raw = await request.body()
    body = parse_body(raw, fmt)
    return ClientRequest(
        api_key=api_key,
        raw=raw,
        body=body,
        anthropic_version=version,
        anthropic_beta=beta,
        query=scope["query_string"].decode("latin-1"),
        session=session_of(body, fmt, affinity),
    )
