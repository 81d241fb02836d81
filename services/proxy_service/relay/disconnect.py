"""Noticing that the client went away (uvicorn answers `receive()` with `http.disconnect`)."""

from __future__ import annotations

import contextlib

from starlette.types import Receive


async def disconnected(receive: Receive) -> None:
    """Returns once the client is gone. Call it only after the request body was read."""
    with contextlib.suppress(Exception):  # a server that gave up on the connection: same thing
        while (await receive())["type"] != "http.disconnect":
            pass
