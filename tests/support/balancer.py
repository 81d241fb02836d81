"""A TCP load balancer like a Kubernetes Service in front of proxies: round robin over the backends
whose `/readyz` answered 200 at the last check (checked every `check_every_s`, as an LB's health
check or the endpoints controller does), and on a refused connect the next ready backend (nothing
was sent yet, so that is safe). It counts what it did, so a test can tell where connections went."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.support.tcp_proxy import pipe


@dataclass
class Backend:
    port: int
    ready: bool = False
    seen: set[str] = field(default_factory=set)  # readiness states seen: ok, draining, down


class ReadyBalancer:
    def __init__(self, *, check_every_s: float = 0.05) -> None:
        self.backends: list[Backend] = []
        self.connections: Counter[int] = Counter()  # per backend port
        self.refused_connects = 0
        self.no_backend = 0
        self.port = 0
        self._check_every_s = check_every_s
        self._next = 0
        self._server: asyncio.Server | None = None
        self._checker: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._checker = asyncio.ensure_future(self._check_forever())

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()

    def add(self, port: int) -> Backend:
        backend = Backend(port)
        self.backends.append(backend)
        return backend

    def backend(self, port: int) -> Backend:
        return next(b for b in self.backends if b.port == port)

    async def _check_forever(self) -> None:
        async with httpx.AsyncClient(timeout=1.0) as http:
            while True:
                for backend in list(self.backends):
                    try:
                        answer = await http.get(f"http://127.0.0.1:{backend.port}/readyz")
                        state = "ok" if answer.status_code == 200 else answer.json().get("status", "?")
                    except (httpx.HTTPError, ValueError):
                        state = "down"
                    backend.seen.add(state)
                    backend.ready = state == "ok"
                await asyncio.sleep(self._check_every_s)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ready = [b for b in self.backends if b.ready]
        start, self._next = self._next, self._next + 1  # before any await: concurrent accepts alternate
        for offset in range(len(ready)):
            backend = ready[(start + offset) % len(ready)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend.port)
            except OSError:
                self.refused_connects += 1
                continue
            self.connections[backend.port] += 1
            self._writers.update((writer, up_writer))
            await asyncio.gather(
                pipe(reader, up_writer, self._writers, abort=False),
                pipe(up_reader, writer, self._writers, abort=False),
            )
            return
        self.no_backend += 1
        writer.transport.abort()
