"""The allocation channel's server side (`shared/channel.py`): the proxy's allocations, lease
releases and model lists, answered by the same functions as their internal HTTP routes."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import State

from services.account_service.deps import is_loopback, loopback_only_refusal
from services.account_service.internal.endpoints import HOT_CALLS
from shared.channel import ChannelServer
from shared.errors import Forbidden, NotFound


def channel_server(state: State, *, token: str, loopback_only: bool) -> ChannelServer:
    async def handle(method: str, body: Any) -> Any:
        call = HOT_CALLS.get(method)
        if call is None:
            raise NotFound(f"no call named {method!r} on the allocation channel")
        return await call(state, body)

    def accept(host: str | None) -> Forbidden | None:
        return loopback_only_refusal() if loopback_only and not is_loopback(host) else None

    return ChannelServer(handle, token=token, accept=accept)
