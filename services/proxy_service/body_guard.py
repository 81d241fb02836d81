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

Cost on the hot path: nothing for a request without a body; otherwise one `call_later` armed at the
first read of the body and cancelled once the body is complete. The timer measures idleness: it
fires only if the app has been waiting on the client that long, and otherwise re-arms once.
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
        self.timeout_s = timeout_s

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
        body = _GuardedBody(receive, scope["path"], max_bytes=self.max_bytes, timeout_s=self.timeout_s)
        try:
            await self.app(scope, body.receive, send)
        finally:
            body.stop()


def too_large(max_bytes: int, *, close_connection: bool) -> RequestTooLarge:
    message = f"the request body is larger than {max_bytes} bytes"
    return RequestTooLarge(message, close_connection=close_connection)


class _GuardedBody:
    """One request's body: its byte count, its idle timer and the task that waits on it."""

    __slots__ = (
        "_expired",
        "_loop",
        "_max_bytes",
        "_path",
        "_receive",
        "_received",
        "_since",
        "_timeout_s",
        "_timer",
        "_waiter",
        "done",
    )

    def __init__(self, receive: Receive, path: str, *, max_bytes: int, timeout_s: float) -> None:
        self._receive = receive
        self._path = path
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Task | None = None
        self._since = 0.0
        self._received = 0
        self._expired = False
        self.done = False

    async def receive(self) -> Message:
        if self.done:  # the body is in: later reads only wait for a disconnect
            return await self._receive()
        waiter = self._waiter = asyncio.current_task()
        self._since = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_later(self._timeout_s, self._check_idle)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self._expired and waiter is not None and waiter.uncancel() == 0:
                self.stop()
                log.info("proxy.client_body_timeout", path=self._path, received_bytes=self._received)
                raise RequestTimeout(
                    f"the request body stalled: nothing arrived for {self._timeout_s:g} s"
                ) from None
            raise
        finally:
            self._waiter = None
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._max_bytes:
                self.stop()
                log.info("proxy.body_too_large", path=self._path, received_bytes=self._received)
                raise too_large(self._max_bytes, close_connection=True)
            if not message.get("more_body", False):
                self.stop()
        elif message["type"] == "http.disconnect":
            self.stop()
            log.info("proxy.client_gone_mid_body", path=self._path, received_bytes=self._received)
            raise ClientGone("the client closed the connection before its request body was complete")
        return message

    def stop(self) -> None:
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_idle(self) -> None:
        """Fires `timeout_s` after the timer was armed: cancels the waiting read if the client has
        sent nothing since it began, else looks again when the idle time could next run out."""
        idle = self._loop.time() - self._since
        if self._waiter is not None and idle >= self._timeout_s:
            self._timer = None
            self._expired = True
            self._waiter.cancel()
            return
        wait = self._timeout_s - idle if self._waiter is not None else self._timeout_s
        self._timer = self._loop.call_later(max(wait, 0.001), self._check_idle)
