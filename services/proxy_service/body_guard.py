"""The request body as a hostile client may send it: too big, too slow, or cut off.

Pure ASGI middleware around the app's `receive`, so the body is counted as it streams in and never
held beyond the limit:

* a `content-length` over `max_bytes` is answered 413 at once, before the app runs; uvicorn then
  reads the declared rest and drops it, so that the client reads the 413 (closing a socket with
  unread data resets it, answer and all). A body without a length (chunked) is refused with the
  same 413 the moment it passes the limit, and that connection closes: its rest may never end;
* a client that sends nothing of its body for `timeout_s` while the app waits for it gets a 408;
* a client that hangs up before its body is complete is one info line, not a traceback.

The chunked 413 and the 408 are `PoolGateError`s raised from `receive`, so the app renders them
like any other error, in the client's own format, with `connection: close`. The 499 for a client
that left is rendered too, but nobody reads it.

Cost on the hot path: nothing for a request without a body; otherwise a set insertion and removal
around each read of the body. No timer per request (`call_later` and `cancel` cost ~3 µs together
on the reference box, ten times the rest): one sweep per `timeout_s / 4` (at most 1 s), and only
while some read is waiting, finds the reads that have waited too long. A stall is noticed between
`timeout_s` and `timeout_s` plus one sweep after the client's last byte.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.proxy_service.responses import error_response, style_for_path
from shared.errors import ClientGone, RequestTimeout, RequestTooLarge
from shared.logging import get_logger

log = get_logger(__name__)


class BodyGuard:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._stalls = _Stalls(timeout_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    log.info("proxy.body_too_large", path=scope["path"], content_length=int(value))
                    err = too_large(self.max_bytes, close_connection=False)
                    await error_response(err, style_for_path(scope["path"]))(scope, receive, send)
                    return
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:
            return await self.app(scope, receive, send)
        body = _GuardedBody(receive, scope["path"], max_bytes=self.max_bytes, stalls=self._stalls)
        await self.app(scope, body.receive, send)


def too_large(max_bytes: int, *, close_connection: bool) -> RequestTooLarge:
    message = f"the request body is larger than {max_bytes} bytes"
    return RequestTooLarge(message, close_connection=close_connection)


class _Stalls:
    """The body reads now waiting on their clients, and the sweep that expires the ones that have
    waited `timeout_s`. The sweep runs only while some read is waiting."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.waiting: set[_GuardedBody] = set()
        self._period_s = min(1.0, timeout_s / 4)
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, body: _GuardedBody) -> float:
        """Counts `body` as waiting; returns the loop's time now."""
        self.waiting.add(body)
        if self._sweep_timer is None:
            loop = self._loop = asyncio.get_running_loop()
            self._sweep_timer = loop.call_later(self._period_s, self._sweep)
        return self._loop.time()  # type: ignore[union-attr]

    def _sweep(self) -> None:
        assert self._loop is not None
        self._sweep_timer = None
        if not self.waiting:
            return
        now = self._loop.time()
        for body in [b for b in self.waiting if now - b.since >= self.timeout_s]:
            self.waiting.discard(body)
            body.expire()
        self._sweep_timer = self._loop.call_later(self._period_s, self._sweep)


class _GuardedBody:
    """One request's body: its byte count, and the task waiting on it while it waits."""

    __slots__ = (
        "_expired",
        "_max_bytes",
        "_path",
        "_receive",
        "_received",
        "_stalls",
        "_waiter",
        "done",
        "since",
    )

    def __init__(self, receive: Receive, path: str, *, max_bytes: int, stalls: _Stalls) -> None:
        self._receive = receive
        self._path = path
        self._max_bytes = max_bytes
        self._stalls = stalls
        self._waiter: asyncio.Task | None = None
        self._received = 0
        self._expired = False
        self.since = 0.0
        self.done = False

    async def receive(self) -> Message:
        if self.done:  # the body is in: later reads only wait for a disconnect
            return await self._receive()
        stalls = self._stalls
        waiter = self._waiter = asyncio.current_task()
        self.since = stalls.add(self)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self._expired and waiter is not None and waiter.uncancel() == 0:
                self.done = True
                log.info("proxy.client_body_timeout", path=self._path, received_bytes=self._received)
                raise RequestTimeout(
                    f"the request body stalled: nothing arrived for {stalls.timeout_s:g} s"
                ) from None
            raise
        finally:
            stalls.waiting.discard(self)
            self._waiter = None
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._max_bytes:
                self.done = True
                log.info("proxy.body_too_large", path=self._path, received_bytes=self._received)
                raise too_large(self._max_bytes, close_connection=True)
            if not message.get("more_body", False):
                self.done = True
        elif message["type"] == "http.disconnect":
            self.done = True
            log.info("proxy.client_gone_mid_body", path=self._path, received_bytes=self._received)
            raise ClientGone("the client closed the connection before its request body was complete")
        return message

    def expire(self) -> None:
        """The client sent nothing for the timeout: the waiting read ends with a 408."""
        if self._waiter is not None and not self._expired:
            self._expired = True
            self._waiter.cancel()
