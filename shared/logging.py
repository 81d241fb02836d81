"""Structured logging (structlog) with a correlation id that crosses HTTP and RabbitMQ.

The id lives in a context variable: the HTTP middleware sets it from `x-correlation-id` (or makes
one), outgoing internal calls and published messages copy it, and the consumer wrapper sets it from
each message, so one client call can be followed through all three services.
"""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar

import structlog

CORRELATION_HEADER = "x-correlation-id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Keys whose values must never reach a log line, whatever the caller passed.
_SECRET_KEYS = frozenset(
    {"api_key", "authorization", "credential", "password", "secret", "token", "sessionid", "refresh_token"}
)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def get_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)


def _add_correlation_id(_, __, event_dict):
    cid = _correlation_id.get()
    if cid and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = cid
    return event_dict


def _redact(_, __, event_dict):
    for key in event_dict.keys() & _SECRET_KEYS:
        event_dict[key] = "****"
    return event_dict


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_correlation_id,
            _redact,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries log through the stdlib; keep them quiet unless something is wrong.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


class CorrelationIdMiddleware:
    """Pure ASGI middleware (no per-request Starlette overhead) that sets the correlation id."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cid = None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id" or name == b"x-request-id":
                cid = value.decode("latin-1")[:64]
                break
        cid = cid or new_correlation_id()
        token = _correlation_id.set(cid)
        header = (CORRELATION_HEADER.encode(), cid.encode("latin-1"))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _correlation_id.reset(token)
