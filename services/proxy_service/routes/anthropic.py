"""Anthropic Messages: `POST /v1/messages` (any query string, e.g. Claude Code's `?beta=true`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.proxy_service.formats import CLAUDE


async def messages(request: Request) -> Response:
    return await request.app.state.relay.handle(request, CLAUDE)


route = Route("/v1/messages", messages, methods=["POST"])
