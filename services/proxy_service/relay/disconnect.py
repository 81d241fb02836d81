"""Noticing that the client went away (uvicorn answers `receive()` with `http.disconnect`)."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import Receive


async def disconnected(receive: Receive) -> None:
    """Returns once the client is gone. Call it only after the request body was read."""
    with contextlib.suppress(Exception):  # a server that gave up on the connection: same thing
        while (await receive())["type"] != "http.disconnect":
            pass


async def gone_before(receive: Receive, event: asyncio.Event) -> bool:
    """Waits until the client is gone (True) or `event` is set (False), whichever comes first."""
    gone = asyncio.ensure_future(disconnected(receive))
    set_ = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait((gone, set_), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        set_.cancel()
    return gone in done
