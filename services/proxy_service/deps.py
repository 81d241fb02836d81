"""Request dependencies: what the routes take from `app.state` (async, so FastAPI never threads them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.proxy_service.relay import Relay


async def get_relay(request: Request) -> Relay:
    return request.app.state.relay


RelayDep = Annotated[Relay, Depends(get_relay)]
