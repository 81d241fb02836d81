"""OpenAI Chat Completions: `POST /v1/chat/completions`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.proxy_service.formats import OPENAI


async def chat_completions(request: Request) -> Response:
    return await request.app.state.relay.handle(request, OPENAI)


route = Route("/v1/chat/completions", chat_completions, methods=["POST"])
