"""Writing a pre-built list of SSE events, including the scripted mid-stream failures."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


async def send_events(
    request: web.Request,
    events: list[bytes],
    settings: dict[str, Any],
    script: dict[str, Any],
    error_event: bytes,
) -> web.StreamResponse:
    """Send `events` as one SSE response.

    `break_after_chunks: N` sends the first N events and then drops the connection, so the client
    sees a truncated chunked body (like an upstream crash). `error_after_chunks: N` sends N events
    and then the API's in-stream error event, ending the stream cleanly (like an overload mid-answer).
    Both count events of any kind.
    """
    cut = script.get("break_after_chunks")
    fail = script.get("error_after_chunks")
    if fail is not None:
        events = [*events[:fail], error_event]
    if cut is not None:
        events = events[:cut]

    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    delay = settings["chunk_delay_ms"] / 1000
    if delay:
        for i, event in enumerate(events):
            if i:
                await asyncio.sleep(delay)
            await resp.write(event)
    elif events:
        # One write, one syscall: keeps the fake cheap when it is the benchmark upstream.
        await resp.write(b"".join(events))

    if cut is not None:
        # close() flushes what was written, then FIN without the terminating zero-length chunk.
        # aiohttp's later write_eof hits the closed transport and is swallowed as a disconnect.
        if request.transport is not None:
            request.transport.close()
        return resp
    await resp.write_eof()
    return resp
