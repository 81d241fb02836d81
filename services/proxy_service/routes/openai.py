"""OpenAI Chat Completions: `POST /v1/chat/completions`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.proxy_service.deps import RelayDep
from services.proxy_service.formats import OPENAI

router = APIRouter(tags=["openai"])


@router.post("/v1/chat/completions")
async def chat_completions(request: Request, relay: RelayDep) -> Response:
    return await relay.handle(request, OPENAI)
