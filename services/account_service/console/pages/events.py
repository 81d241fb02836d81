"""The event stream live (admins): the events `poolgate events tail` prints, filtered by a routing-key
pattern, pushed to the page as Server-Sent Events (console.js adds them to the table).

Each open page has a watch of its own (shared/messages/watch.py) on this process's broker connection;
it ends, and its queue is deleted, when the browser goes away. While the stream is quiet it checks the
session every `KEEPALIVE_S` and ends once it is no longer an admin's (signed out, disabled, demoted)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from services.account_service.console import sessions, web
from services.account_service.console.deps import AdminSession
from services.account_service.console.i18n import _
from services.account_service.metrics import CONSOLE_EVENT_WATCHES
from shared.errors import DependencyUnavailable, Unprocessable
from shared.messages.contracts import EVENT_TYPES
from shared.messages.envelope import Envelope
from shared.messages.watch import MAX_PATTERN_LENGTH, is_pattern, watch
from shared.outages import is_unavailable

router = APIRouter(prefix="/admin/events")

WATCHING = CONSOLE_EVENT_WATCHES
KEEPALIVE_S = 15.0
ROWS_KEPT = 200
Pattern = Annotated[str, Query(alias="type", max_length=MAX_PATTERN_LENGTH * 4)]


def _suggestions() -> list[str]:
    nouns = sorted({name.split(".", 1)[0] for name in EVENT_TYPES})
    return ["#", *(f"{noun}.*" for noun in nouns), *sorted(EVENT_TYPES)]


@router.get("")
async def events(request: Request, _session: AdminSession, pattern: Pattern = "#") -> Response:
    pattern = pattern.strip()
    errors = {} if is_pattern(pattern) else {"type": _pattern_error()}
    return web.render(
        request,
        "events.html",
        status_code=422 if errors else 200,
        pattern=pattern,
        errors=errors,
        suggestions=_suggestions(),
        keep=ROWS_KEPT,
    )


def _pattern_error() -> str:
    return _("A type pattern is words joined by dots, each a name, * (one word) or # (any words).")


@router.get("/stream")
async def stream(request: Request, _session: AdminSession, pattern: Pattern = "#") -> Response:
    pattern = pattern.strip()
    if not is_pattern(pattern):
        raise Unprocessable(_pattern_error(), param="type")
    broker = request.app.state.broker
    if not broker.is_connected:
        raise DependencyUnavailable("RabbitMQ is unreachable right now; try again shortly", retry_after=5)
    return StreamingResponse(
        _events(request, pattern, request.cookies.get(sessions.COOKIE, "")),
        media_type="text/event-stream",
        headers=web.SECURITY_HEADERS | {"x-accel-buffering": "no"},
    )


async def _events(request: Request, pattern: str, token: str) -> AsyncIterator[str]:
    state = request.app.state
    WATCHING.inc()
    try:
        async with watch(
            state.broker.connection, exchange=state.settings.events_exchange, pattern=pattern
        ) as w:
            yield "retry: 2000\n\n"  # the browser reconnects after 2 s if the stream breaks
            while True:
                batch = await w.next(KEEPALIVE_S)
                if batch is None:
                    if not await _still_admin(request, token):
                        return
                    yield ": keep-alive\n\n"
                    continue
                for each in batch:
                    if isinstance(each, Envelope):  # anything else is not an event of ours
                        yield f"id: {each.id}\ndata: {each.to_bytes().decode()}\n\n"
    finally:
        WATCHING.dec()


async def _still_admin(request: Request, token: str) -> bool:
    """Whether the session is still an admin's; while PostgreSQL is away, it is taken to be."""
    state = request.app.state
    try:
        async with state.pool.acquire() as conn:
            session = await sessions.load(
                conn,
                token=token,
                idle=timedelta(hours=state.settings.console_session_idle_h),
                now=state.days.now(),
            )
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return True
    return session is not None and session.actor.is_admin
