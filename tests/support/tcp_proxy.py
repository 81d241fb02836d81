"""A TCP forwarder a test can cut: the client side sees a real connection loss (reset sockets,
refused reconnects) while the server behind it keeps running."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every open connection and stop accepting new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(pipe(reader, up_writer, self._writers), pipe(up_reader, writer, self._writers))


async def pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    open_writers: set[asyncio.StreamWriter],
    *,
    abort: bool = True,
) -> None:
    """Copy one direction of a connection until it ends, then drop `writer` from `open_writers` and
    close it: aborted (a reset, as a cut connection looks) or closed gracefully (`abort=False`)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        open_writers.discard(writer)
        with contextlib.suppress(Exception):
            if abort:
                writer.transport.abort()
            else:
                writer.close()
