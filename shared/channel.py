"""The allocation channel: the proxy's calls to account_service on one long-lived TCP connection.

Every client call costs the proxy one allocation, so that hop is the one most worth making cheap.
Over HTTP each one passed an aiohttp client request and a uvicorn + Starlette request cycle: about
150 µs of the proxy's CPU and 115 µs of account_service's per call (bench.profile), more than the
allocation decision itself. Here a call is one frame each way on a connection that stays open:

    frame   = 4-byte big-endian length, then an orjson array
    request = [id, method, body, correlation_id]     answer = [id, status, body]

A connection is made to account_service's HTTP port: its first byte, `MAGIC`, is one no HTTP
request starts with, and tells the server to speak this instead. Requests are multiplexed (answers
come back in any order, matched by id), so one connection carries every concurrent call of a proxy process.
A connection opens with a hello carrying the service token (`[0, "hello", {"token": ...}, null]`,
answered `[0, 200, {}]`, or an error and a close).
Statuses and error bodies are the internal HTTP API's (`shared.errors.plain_body`), so a refusal
reads the same whichever way it came.

A call that could not be sent (no connection) fails as `UNREACHABLE` and may be sent again; one
whose connection dropped before its answer fails as plainly unavailable: account_service may have
applied it. So a server that shuts down (a restart, a rolling deploy) does not drop its connections:
it sends `GOAWAY`, the client sends nothing more on that connection and closes it once its calls
are answered, and its next calls open another.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from shared.errors import DependencyUnavailable, PoolGateError, Unauthenticated, answered, plain_body
from shared.logging import get_logger, set_correlation_id

log = get_logger(__name__)

UNREACHABLE = "account_service_unreachable"
_LENGTH = struct.Struct(">I")
MAX_FRAME = 1 << 20  # an allocation is a few hundred bytes; anything near this is not a peer
_HELLO = "hello"
MAGIC = b"\x00"  # a channel connection's first byte, before its hello
GOAWAY = [0, 503, {"goaway": True}]  # the server is shutting down: no more calls on this connection

Handler = Callable[[str, Any], Awaitable[Any]]


def frame(message: list[Any]) -> bytes:
    payload = orjson.dumps(message)
    return _LENGTH.pack(len(payload)) + payload


class _Frames:
    """Splits a byte stream into frames; `feed` returns the complete ones."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= 4:
            (size,) = _LENGTH.unpack_from(self._buffer)
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes")
            if len(self._buffer) < 4 + size:
                break
            messages.append(orjson.loads(memoryview(self._buffer)[4 : 4 + size]))
            del self._buffer[: 4 + size]
        return messages


# -- server (account_service) --------------------------------------------------------------------


class ChannelServer:
    """Answers channel connections with `handler(method, body) -> answer body`; a `PoolGateError` it
    raises is answered with its status and plain body. `accept(peer_host)` may refuse a connection
    (the loopback-only rule of the development token) with the error to answer.

    It has no port of its own: a connection to account_service's HTTP port whose first byte is
    `MAGIC` (never the first byte of an HTTP request) is handed to the process's listening channel
    server (`shared/http_protocol.py`), so every worker process and every deployment that reaches
    the HTTP port reaches the channel too."""

    def __init__(
        self,
        handler: Handler,
        *,
        token: str,
        accept: Callable[[str | None], PoolGateError | None] = lambda _host: None,
    ) -> None:
        self._handler = handler
        self._token = token.encode()
        self._accept = accept
        self._connections: set[ServerConnection] = set()

    def listen(self) -> None:
        """Take this process's channel connections from now on."""
        global listening
        listening = self

    def close(self) -> None:
        global listening
        if listening is self:
            listening = None
        for connection in list(self._connections):
            connection.close()

    def adopt(self, transport: asyncio.Transport) -> ServerConnection:
        """A connection that chose the channel: its bytes after `MAGIC` go to the returned object."""
        return ServerConnection(self, transport)

    def token_matches(self, given: Any) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self._token)


listening: ChannelServer | None = None  # the server this process's connections are handed to


class ServerConnection:
    def __init__(self, server: ChannelServer, transport: asyncio.Transport) -> None:
        self._server = server
        self._transport = transport
        self._frames = _Frames()
        self._greeted = False
        self._tasks: set[asyncio.Task[None]] = set()
        server._connections.add(self)
        peer = transport.get_extra_info("peername")
        refused = server._accept(peer[0] if peer else None)
        if refused is not None:
            self._refuse(refused)

    def connection_lost(self) -> None:
        self._server._connections.discard(self)
        for task in self._tasks:
            task.cancel()

    def close(self) -> None:
        self._transport.close()

    def shutdown(self) -> None:
        """Graceful: the client closes the connection once its calls are answered (see the module)."""
        if not self._greeted:
            self._transport.close()
        elif not self._transport.is_closing():
            self._transport.write(frame(GOAWAY))

    def _refuse(self, err: PoolGateError) -> None:
        self._transport.write(frame([0, err.status_code, plain_body(err)]))
        self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._transport.is_closing():
            return
        try:
            messages = self._frames.feed(data)
        except ValueError:  # an oversized or broken frame: not a PoolGate peer
            self._transport.close()
            return
        for message in messages:
            if not self._greeted:
                self._greet(message)
                continue
            try:
                call_id, method, body, correlation_id = message
            except (TypeError, ValueError):
                self._transport.close()
                return
            task = asyncio.get_running_loop().create_task(self._answer(call_id, method, body, correlation_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _greet(self, message: Any) -> None:
        hello = message[2] if isinstance(message, list) and len(message) == 4 else None
        if (
            message[1:2] != [_HELLO]
            or not isinstance(hello, dict)
            or not self._server.token_matches(hello.get("token"))
        ):
            self._refuse(Unauthenticated("the allocation channel requires the service token"))
            return
        self._greeted = True
        self._transport.write(frame([0, 200, {}]))

    async def _answer(self, call_id: Any, method: str, body: Any, correlation_id: str | None) -> None:
        set_correlation_id(correlation_id)  # this task's own context: its log lines carry the call's id
        try:
            answer = [call_id, 200, await self._server._handler(method, body)]
        except PoolGateError as err:
            answer = [call_id, err.status_code, plain_body(err)]
        except Exception:
            log.exception("channel.unhandled_error", method=method)
            answer = [call_id, 500, plain_body(PoolGateError("internal error"))]
        if not self._transport.is_closing():
            self._transport.write(frame(answer))


# -- client (proxy) -------------------------------------------------------------------------------


class ChannelClient:
    """Calls over one connection to `host:port`, opened on first use and again after it is lost.

    One, not a pool: account_service takes a connection's calls in the order they were sent, so a
    release carried by one allocation is applied before the pick of an allocation sent after it
    (relay/lease.py). Over several connections a call back to back on an account at its cap could
    be refused for the slot its own release, sent a moment earlier on another connection, was about
    to free (measured: about 2% of calls at 32 clients on one account's 32 slots)."""

    def __init__(self, host: str, port: int, *, token: str, timeout_s: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._token = token
        self._timeout_s = timeout_s
        self._connection: _ClientConnection | None = None
        self._opening: asyncio.Lock | None = None

    async def call(self, method: str, body: Any, *, correlation_id: str | None = None) -> Any:
        """The answer body; a refusal raises the error account_service answered."""
        connection = await self._connected()
        status, answer = await connection.call(method, body, correlation_id, self._timeout_s)
        if status >= 400:
            raise answered(status, answer)
        return answer

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    async def _connected(self) -> _ClientConnection:
        connection = self._connection
        if connection is not None and connection.open:
            return connection
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:  # one opener at a time; the others use what it opened
            if self._connection is None or not self._connection.open:
                self._connection = await self._open()
            return self._connection

    async def _open(self) -> _ClientConnection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                _, connection = await loop.create_connection(_ClientConnection, self._host, self._port)
                await connection.greet(self._token)
        except (OSError, TimeoutError, ConnectionError) as exc:
            raise DependencyUnavailable(
                f"account_service unreachable: {exc.__class__.__name__}", code=UNREACHABLE, retry_after=1
            ) from exc
        return connection


class _ClientConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self._frames = _Frames()
        self._transport: asyncio.Transport | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, Any]]] = {}
        self._ids = itertools.count(1)
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    async def greet(self, token: str) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._pending[0] = waiter
        self._transport.write(MAGIC + frame([0, _HELLO, {"token": token}, None]))
        status, body = await waiter
        if status != 200:
            self._transport.close()
            raise answered(status, body)

    async def call(
        self, method: str, body: Any, correlation_id: str | None, timeout_s: float
    ) -> tuple[int, Any]:
        if not self.open:  # lost between taking it and now: nothing was sent
            raise DependencyUnavailable("account_service unreachable: connection lost", code=UNREACHABLE)
        call_id = next(self._ids)
        waiter = asyncio.get_running_loop().create_future()
        self._pending[call_id] = waiter
        self._transport.write(frame([call_id, method, body, correlation_id]))
        try:
            async with asyncio.timeout(timeout_s):
                return await waiter
        except TimeoutError:
            raise DependencyUnavailable("account_service did not answer in time", retry_after=1) from None
        finally:
            self._pending.pop(call_id, None)
            self._close_when_idle()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._frames.feed(data)
        except ValueError:
            self._transport.close()
            return
        for message in messages:
            if not isinstance(message, list) or len(message) != 3:
                continue
            if message[0] == 0:  # the hello's answer, or GOAWAY
                if message == GOAWAY and self.open:
                    self.open = False
                    self._close_when_idle()
                hello = self._pending.pop(0, None)
                if hello is not None and not hello.done():
                    self.open = message[1] == 200  # now, in case GOAWAY follows in this read
                    hello.set_result((message[1], message[2]))
                continue
            waiter = self._pending.get(message[0])
            if waiter is not None and not waiter.done():
                waiter.set_result((message[1], message[2]))

    def _close_when_idle(self) -> None:
        if not self.open and not self._pending and self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        lost = DependencyUnavailable("account_service unreachable: connection lost", retry_after=1)
        for call_id, waiter in self._pending.items():
            if not waiter.done():
                if call_id == 0:  # the hello: nothing else was sent on this connection
                    waiter.set_exception(ConnectionError("closed during the hello"))
                else:
                    waiter.set_exception(lost)
        self._pending.clear()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
