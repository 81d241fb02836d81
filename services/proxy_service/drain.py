"""A proxy's graceful shutdown: on SIGTERM, out of rotation first, then no new calls, then a deadline.

1. SIGTERM: `/readyz` answers 503 `draining` while everything is still served, for `grace_s`, so that
   a load balancer (a Kubernetes Service's endpoints, an L7 proxy's health check) stops sending
   new connections before any is refused.
2. After the grace: uvicorn's own SIGTERM handling runs (its listener closes, idle keep-alive
   connections close, running calls go on), and a call that still comes in on an open connection is
   answered 503 in the client's format with `Retry-After` and `connection: close`: both SDKs retry
   a 503 (and a refused or reset connection), landing on a live replica.
3. Running calls and streams finish on their own for up to `timeout_s`. Those still running then end
   with an error the client's SDK raises (`overloaded_error` / an OpenAI `error` chunk; a 503 for a
   call whose answer had not begun), never a silent cut: their leases are released as they end.

uvicorn's `timeout_graceful_shutdown` must outlast `timeout_s` (`__main__` sets it), or it would
cancel the streams first. With several uvicorn workers the parent passes SIGTERM to each worker, and
each worker drains on its own like this.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.responses import Response

from services.proxy_service.formats import ClientFormat
from services.proxy_service.formats.errors import stream_error_event
from services.proxy_service.responses import error_response
from shared.errors import ErrorKind, PoolGateError
from shared.logging import get_logger

log = get_logger(__name__)

SignalHandler = Callable[[int, FrameType | None], Any]


class ShuttingDown(PoolGateError):
    status_code = 503
    kind = ErrorKind.unavailable
    code = "server_shutting_down"

    def __init__(self) -> None:
        super().__init__("this PoolGate proxy is shutting down; retry the request", retry_after=1)


class Drain:
    def __init__(self, *, grace_s: float = 0.0, timeout_s: float = 30.0) -> None:
        self.grace_s = max(0.0, grace_s)
        self.timeout_s = max(0.0, timeout_s)
        self.draining = False  # out of rotation (readiness fails)
        self.refusing = False  # new calls are answered 503
        self.ended = asyncio.Event()  # calls still running end now (streams wait on it)
        # Non-streaming calls in flight, cancelled at the end: holding one is a set insertion, where
        # waiting on `ended` beside the client's disconnect cost each call two more tasks.
        self._calls: set[asyncio.Task] = set()
        self._task: asyncio.Task[None] | None = None
        self._stop_serving: Callable[[], None] = lambda: None

    def begin(self, stop_serving: Callable[[], None]) -> None:
        """Start draining (idempotent); `stop_serving` is the server's own shutdown, run after the grace."""
        if self._task is not None:
            stop_serving()  # a second SIGTERM: no more grace
            return
        self._stop_serving = stop_serving
        self.draining = True
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        log.info("proxy.draining", grace_s=self.grace_s, timeout_s=self.timeout_s)
        await asyncio.sleep(self.grace_s)
        self.refusing = True
        self._stop_serving()
        await asyncio.sleep(self.timeout_s)
        log.warning("proxy.drain_timeout")
        self.end()

    def hold(self, call: asyncio.Task) -> None:
        """`call` is cancelled if it is still running at the end (let it go when it ends)."""
        self._calls.add(call)

    def let_go(self, call: asyncio.Task) -> None:
        self._calls.discard(call)

    def end(self) -> None:
        """The deadline: every call still running ends now."""
        self.ended.set()
        for call in self._calls:
            call.cancel()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait((self._task,))

    def refusal(self, fmt: ClientFormat) -> Response:
        """The answer to a call that came in after the grace."""
        response = error_response(ShuttingDown(), fmt.error_style)
        response.raw_headers.append((b"connection", b"close"))
        return response

    def stream_error(self, fmt: ClientFormat) -> bytes:
        """The event that ends a stream still running at the deadline (an error the SDK raises)."""
        response = error_response(ShuttingDown(), fmt.error_style)
        return stream_error_event(fmt, response.status_code, bytes(response.body))

    def install(self) -> Callable[[], None]:
        """Drain on SIGTERM instead of stopping at once, when run by uvicorn (whose handler is called
        after the grace); returns what puts its handler back. Elsewhere (an app under test in-process,
        another server) nothing changes."""
        previous = signal.getsignal(signal.SIGTERM)
        owner = getattr(previous, "__self__", None)
        if threading.current_thread() is not threading.main_thread() or not _is_uvicorn(owner):
            return lambda: None
        loop = asyncio.get_running_loop()

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self.begin, lambda: previous(sig, frame))

        signal.signal(signal.SIGTERM, on_sigterm)
        return lambda: signal.signal(signal.SIGTERM, previous)


def _is_uvicorn(owner: object) -> bool:
    return type(owner).__module__.startswith("uvicorn.")
