"""A streaming call's response while its upstream is still being found.

Most streams get their upstream's headers at once, and are answered exactly as without this class
(the relayed stream, or the error with its real status). When no upstream has answered within
`after_s` (slow upstreams, failover, backoff waits), the client is sent a `200 text/event-stream` at
once and a keep-alive every `interval_s`, so that neither it nor a proxy in between gives up on a
silent connection: Anthropic's own `ping` event, or an SSE comment for OpenAI clients (their SDKs
skip comments). The attempt loop goes on behind the pings; its answer is then relayed into the
started stream, or, if it failed, told as an error event in the client's format (never a normal end).
A client that leaves before its stream began (pinged or not) cancels the loop, and with it the
pending upstream attempt; so does a shutdown's drain deadline (drain.py), which the client is told of:
a 503 it may retry, or an error event once pings began.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.proxy_service import metrics
from services.proxy_service.formats import CLAUDE, ClientFormat
from services.proxy_service.formats.errors import stream_error_event
from services.proxy_service.relay.disconnect import disconnected
from services.proxy_service.relay.stream import STREAM_HEADERS, RelayStream

if TYPE_CHECKING:
    from services.proxy_service.drain import Drain

_PINGS = {CLAUDE.name: b'event: ping\ndata: {"type": "ping"}\n\n'}
_COMMENT_PING = b": ping\n\n"


def ping_event(fmt: ClientFormat) -> bytes:
    return _PINGS.get(fmt.name, _COMMENT_PING)


class KeepAliveStream(Response):
    def __init__(
        self,
        answer: Coroutine[Any, Any, tuple[Response, str]],  # and the answering account's kind
        *,
        fmt: ClientFormat,
        after_s: float,
        interval_s: float,
        in_flight: metrics.InFlight | None = None,
        drain: Drain | None = None,
    ) -> None:
        self.status_code = 200
        self.raw_headers = list(STREAM_HEADERS)
        self.background = None
        self._answer = answer
        self._fmt = fmt
        self._after_s = after_s
        self._interval_s = max(interval_s, 0.01)
        self._in_flight = in_flight
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.ensure_future(self._answer)
        gone = asyncio.ensure_future(disconnected(receive))
        ended = asyncio.ensure_future((self._drain.ended if self._drain else asyncio.Event()).wait())
        if self._in_flight is not None:
            self._in_flight.count += 1
        try:
            done, _ = await asyncio.wait(
                (task, gone, ended), timeout=self._after_s, return_when=asyncio.FIRST_COMPLETED
            )
            if gone in done:
                return  # `_settle` cancels the loop and its upstream attempt
            if ended in done and task not in done:
                assert self._drain is not None
                refusal = self._drain.refusal(self._fmt)
                metrics.count_request(self._fmt.route, self._fmt.name, refusal.status_code)
                await refusal(scope, receive, send)
                return
            if done:
                gone.cancel()
                response, kind = task.result()
                metrics.count_request(self._fmt.route, self._fmt.name, response.status_code, kind)
                await response(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            if not await self._ping_until_answered(task, gone, ended, send):
                metrics.count_request(self._fmt.route, self._fmt.name, 200)
                if ended.done() and not gone.done():
                    assert self._drain is not None
                    error = self._drain.stream_error(self._fmt)
                    await send({"type": "http.response.body", "body": error, "more_body": True})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            gone.cancel()
            response, kind = task.result()
            metrics.count_request(self._fmt.route, self._fmt.name, 200, kind)
            if isinstance(response, RelayStream):
                await response.send_body(receive, send)
                return
            error = stream_error_event(self._fmt, response.status_code, bytes(response.body))
            await send({"type": "http.response.body", "body": error, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()
            ended.cancel()
            if self._in_flight is not None:
                self._in_flight.count -= 1
            await _settle(task)

    async def _ping_until_answered(
        self,
        task: asyncio.Future[tuple[Response, str]],
        gone: asyncio.Future[None],
        ended: asyncio.Future,
        send: Send,
    ) -> bool:
        """Ping until the loop answers (True), or the client leaves or the drain deadline passes
        (False: the loop is cancelled)."""
        ping = {"type": "http.response.body", "body": ping_event(self._fmt), "more_body": True}
        while True:
            await send(ping)
            done, _ = await asyncio.wait(
                (task, gone, ended), timeout=self._interval_s, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                return True
            if done:
                return False


async def _settle(task: asyncio.Future[tuple[Response, str]]) -> None:
    """Cancel a loop nobody waits for any more; an upstream it already found is dropped unread."""
    if not task.done():
        task.cancel()
        await asyncio.wait((task,))
    if task.cancelled() or task.exception() is not None:
        return
    response, _ = task.result()
    if isinstance(response, RelayStream):
        response.abandon()  # a no-op once it was relayed
