"""Relaying an upstream SSE stream that already answered 200: chunks go out as they arrive.

No per-chunk parsing or re-encoding: each chunk is scanned for usage (cheap unless it mentions
`"usage"`), optionally passed through the bridge, and sent. A stream the upstream breaks ends with
an error event in the client's format, never a fake normal end; an error event the upstream sent
after it started (stream_errors.py, or a converter's `stream_error`) makes the attempt a failure
with that error's redacted excerpt; so does a stream still running when
a shutdown's drain deadline passes (drain.py). A client that goes away closes the upstream response
at once (a task waits for `http.disconnect`, since sending to a gone client is a
silent no-op in uvicorn). `send_body` relays into a response another started (`keepalive.py`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import ClientResponse
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.proxy_service.formats import Bridge
from services.proxy_service.formats.token_counts import SseUsageScanner
from services.proxy_service.relay.disconnect import gone_before
from services.proxy_service.relay.outcome import RETRYABLE_EXCEPTIONS
from services.proxy_service.relay.stream_errors import StreamErrorWatch
from shared.error_excerpt import error_excerpt
from shared.logging import get_logger

if TYPE_CHECKING:
    from services.proxy_service.drain import Drain
    from services.proxy_service.relay.attempt import Attempt

log = get_logger(__name__)

STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class RelayStream(Response):
    def __init__(
        self, upstream: ClientResponse, *, bridge: Bridge, attempt: Attempt, drain: Drain | None = None
    ) -> None:
        self.status_code = upstream.status
        self.raw_headers = list(STREAM_HEADERS)
        self.background = None
        self._upstream = upstream
        self._fmt = attempt.fmt
        self._bridge = bridge
        self._attempt = attempt
        self._drain = drain
        self._disconnected = False
        self._drained = False  # ended by a shutdown's drain deadline
        self._claimed = False  # relayed or abandoned: the attempt is finished either way

    async def _watch_disconnect(self, receive: Receive) -> None:
        ended = asyncio.Event() if self._drain is None else self._drain.ended
        if await gone_before(receive, ended):
            self._disconnected = True
        else:
            self._drained = True
        self._upstream.close()  # wakes the pending read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        try:
            await send(start)
        except BaseException:
            self.abandon()
            raise
        await self.send_body(receive, send)

    def abandon(self) -> None:
        """Drop the upstream unread if nobody relayed it (the client left before it could be)."""
        if self._claimed:
            return
        self._claimed = True
        self._upstream.close()
        self._attempt.finish("cancelled", self.status_code)

    async def send_body(self, receive: Receive, send: Send) -> None:
        """Relay the upstream's stream into a response whose start was already sent (by `__call__`,
        or by a keep-alive stream that pinged while the upstream was being found)."""
        self._claimed = True
        upstream = self._upstream
        # A bridge that knows the token counts itself (Kiro) needs no scan of the upstream's bytes.
        scanner = SseUsageScanner() if self._bridge.usage is None else None
        rewrite = self._bridge.stream_chunk if self._bridge.rewrites else None
        errors = StreamErrorWatch()
        watcher = asyncio.ensure_future(self._watch_disconnect(receive))
        outcome = "cancelled"
        last = b"\n\n"
        try:
            bridge = self._bridge
            opening = bridge.stream_start()  # a converting bridge's message_start, before any token
            if opening:
                await send({"type": "http.response.body", "body": opening, "more_body": True})
            content = upstream.content
            try:
                while chunk := await content.readany():
                    if scanner is not None:
                        scanner.feed(chunk)
                    errors.feed(chunk)
                    if rewrite is not None:
                        chunk = rewrite(chunk)
                        if not chunk:  # a converter may need more bytes before it can say anything
                            continue
                    last = chunk
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    if bridge.stream_failed:  # the client's stream ended with an error event
                        break
                if self._disconnected:
                    outcome = "cancelled"
                elif self._drained:
                    await self._send_drain_error(send, last)
                else:
                    # A converter ends the client's stream: closing events, or an error event
                    # when the upstream stopped before finishing (never a fake normal end).
                    closing = bridge.stream_end()
                    if closing:
                        await send({"type": "http.response.body", "body": closing, "more_body": True})
                    errors.end()
                    failed = bridge.stream_failed or errors.found is not None
                    outcome = "upstream_error" if failed else "success"
            except RETRYABLE_EXCEPTIONS as exc:
                if self._drained:
                    await self._send_drain_error(send, last)
                elif not self._disconnected:
                    outcome = "upstream_error"
                    allocation = self._attempt.allocation
                    log.warning(
                        "proxy.stream_interrupted",
                        account_id=allocation.account_id,
                        error=exc.__class__.__name__,
                    )
                    error = self._fmt.stream_error
                    # Close any half-sent event first so the error event itself stays parseable.
                    if not last.endswith(b"\n\n"):
                        error = b"\n\n" + error
                    await send({"type": "http.response.body", "body": error, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            if outcome == "success":
                upstream.release()
            else:
                upstream.close()
            if scanner is None:
                input_tokens, output_tokens = self._bridge.usage or (None, None)
            else:
                input_tokens, output_tokens = scanner.input_tokens, scanner.output_tokens
            said = self._bridge.stream_error or errors.found
            self._attempt.finish(
                outcome,
                self.status_code,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                error_excerpt=error_excerpt(said) if outcome == "upstream_error" else None,
            )

    async def _send_drain_error(self, send: Send, last: bytes) -> None:
        assert self._drain is not None
        log.info("proxy.stream_drained", account_id=self._attempt.allocation.account_id)
        error = self._drain.stream_error(self._fmt)
        if not last.endswith(b"\n\n"):  # close a half-sent event first
            error = b"\n\n" + error
        await send({"type": "http.response.body", "body": error, "more_body": True})
