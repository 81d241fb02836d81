"""The two chat APIs the proxy speaks; both are one `Relay.handle` in the caller's format.

* OpenAI Chat Completions: `POST /v1/chat/completions`.
* Anthropic Messages: `POST /v1/messages` (any query string, e.g. Claude Code's `?beta=true`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.proxy_service.formats import CLAUDE, OPENAI


async def chat_completions(request: Request) -> Response:
    return await request.app.state.relay.handle(request, OPENAI)


async def messages(request: Request) -> Response:
    return await request.app.state.relay.handle(request, CLAUDE)


routes = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/messages", messages, methods=["POST"]),
]
