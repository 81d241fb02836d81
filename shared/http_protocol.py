"""uvicorn's httptools protocol with a deadline for the request headers.

uvicorn waits for a request's headers forever: a client that opens a connection and sends nothing,
or dribbles a header line now and then (slowloris), holds a connection and its buffers for as long
as it likes. Here a connection that has not sent a complete set of request headers
`header_timeout_s` after it opened (or after the first byte of a later request on a kept-alive
connection) is closed. An idle kept-alive connection between requests is uvicorn's own
`timeout_keep_alive` business, and the body is the app's (services/proxy_service/body_guard.py).

The timer costs nothing on the usual path: it is armed when a connection opens, and after that only
when a `data_received` ends inside a request's headers, which a client sending its headers in one
packet never does.

A connection whose first byte is `shared.channel.MAGIC` is account_service's allocation channel
(`shared/channel.py`): it is handed to the process's listening channel server, if there is one (in
the proxy there is none, and httptools refuses the byte as a bad request).

Chosen with `uvicorn.run(..., http=functools.partial(HeaderTimeoutProtocol, header_timeout_s=...))`
(`shared/serve.py`); a partial of a module-level class survives the pickling of uvicorn's workers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared import channel
from shared.logging import get_logger

log = get_logger(__name__)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_headers = False
        self._fresh = True  # nothing received yet: the first byte may choose the channel
        self._channel: channel.ServerConnection | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self._header_timeout_s, self._headers_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._channel is not None:
            self._channel.connection_lost()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._channel is not None:
            self._channel.data_received(data)
            return
        if self._fresh:
            self._fresh = False
            server = channel.listening
            if data[:1] == channel.MAGIC and server is not None:
                self._cancel_header_timer()  # the channel's hello is checked by the channel
                self._channel = server.adopt(self.transport)
                self._channel.data_received(data[1:])
                return
        super().data_received(data)
        if self._in_headers:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self._header_timeout_s, self._headers_timed_out)
        elif self._header_timer is not None:
            self._cancel_header_timer()

    def shutdown(self) -> None:
        if self._channel is not None:
            self._channel.shutdown()
        else:
            super().shutdown()

    def on_message_begin(self) -> None:
        self._in_headers = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else None
        log.info("http.client_header_timeout", client=client, seconds=self._header_timeout_s)
        self.transport.close()
