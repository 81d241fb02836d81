"""Anthropic Messages: `POST /v1/messages` (any query string, e.g. Claude Code's `?beta=true`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.proxy_service.deps import RelayDep
from services.proxy_service.formats import CLAUDE

router = APIRouter(tags=["anthropic"])


@router.post("/v1/messages")
async def messages(request: Request, relay: RelayDep) -> Response:
    return await relay.handle(request, CLAUDE)
