"""Fake egress proxies and the echo server a proxy test fetches, speaking the real protocols:

* `HttpProxy`: an HTTP proxy (RFC 9110 CONNECT tunnels, and absolute-URI requests forwarded as
  origin-form), with optional Basic `Proxy-Authorization` (a wrong or missing one is a 407).
* `Socks5Proxy`: a SOCKS5 proxy (RFC 1928, CONNECT only; IPv4, IPv6 and domain addresses), with
  optional username/password authentication (RFC 1929).
* `EchoServer`: answers every GET with `{"ip": ..., "country": ...}` (ipinfo.io's shape); run alone
  (`python -m tests.fakes.egress_proxy --port 0`, prints "LISTENING <port>") for the process stack.

Each records what went through it (`records`: `Passage(target, method, user)`), and `stop()` closes
it mid-test: open connections are reset and new ones refused, as a dead proxy's would be.

They run on an event loop of their own in a thread (`Servers`), so both a synchronous test (the
in-process TestClient) and an asynchronous one (the process stack) can use them:

    with Servers() as servers:
        proxy = servers.start(HttpProxy(auth=("user", "secret")))
        ... proxy.url ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes._control import main
from tests.support.tcp_proxy import pipe


@dataclass(frozen=True, slots=True)
class Passage:
    target: str  # host:port the client asked for
    method: str  # CONNECT, GET, POST... (http); CONNECT (socks5)
    user: str | None  # the proxy user it authenticated as


class _TcpServer:
    """A listening server that can be stopped with its connections reset."""

    scheme = "tcp"

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.records: list[Passage] = []
        self.refused: int = 0  # connections refused for their credentials
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        creds = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"{self.scheme}://{creds}127.0.0.1:{self.port}"

    @property
    def targets(self) -> list[str]:
        return [r.target for r in self.records]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _splice(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        self._writers.add(up_writer)
        await asyncio.gather(
            pipe(reader, up_writer, self._writers, abort=False),
            pipe(up_reader, writer, self._writers, abort=False),
        )


def _split_target(target: str, default_port: int) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or "]" in port:
        return target.strip("[]"), default_port
    return host.strip("[]"), int(port)


_HOP_BY_HOP = ("proxy-authorization", "proxy-connection", "connection", "keep-alive")


class HttpProxy(_TcpServer):
    scheme = "http"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = [line.split(":", 1) for line in header_lines if ":" in line]
        user = self._authenticated({k.strip().lower(): v.strip() for k, v in headers})
        if user is False:
            self.refused += 1
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="fake"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
            )
            await writer.drain()
            return
        if method == "CONNECT":
            host, port = _split_target(target, 443)
            self.records.append(Passage(f"{host}:{port}", method, user))
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._splice(reader, writer, up_reader, up_writer)
            return
        # An absolute-URI request: forwarded in origin form, one request per connection.
        scheme, _, rest = target.partition("://")
        authority, slash, path = rest.partition("/")
        host, port = _split_target(authority, 443 if scheme == "https" else 80)
        self.records.append(Passage(f"{host}:{port}", method, user))
        kept = [
            f"{k}:{v}"
            for k, v in headers
            if k.strip().lower()
            not in ("proxy-authorization", "proxy-connection", "connection", "keep-alive")
        ]
        up_reader, up_writer = await asyncio.open_connection(host, port)
        forwarded = "\r\n".join([f"{method} {slash}{path} {version}", *kept, "Connection: close", "", ""])
        up_writer.write(forwarded.encode("latin-1"))
        await up_writer.drain()
        await self._splice(reader, writer, up_reader, up_writer)

    def _authenticated(self, headers: dict[str, str]) -> str | bool | None:
        """The user (None without auth), or False for missing or wrong credentials."""
        if self.auth is None:
            return None
        scheme, _, token = headers.get("proxy-authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            return False
        return user if (user, password) == self.auth else False


class Socks5Proxy(_TcpServer):
    scheme = "socks5"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        if version != 5:
            return
        methods = await reader.readexactly(count)
        wanted = 2 if self.auth else 0
        if wanted not in methods:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        writer.write(bytes([5, wanted]))
        user = None
        if self.auth:
            _, ulen = await reader.readexactly(2)
            user = (await reader.readexactly(ulen)).decode()
            (plen,) = await reader.readexactly(1)
            password = (await reader.readexactly(plen)).decode()
            if (user, password) != self.auth:
                self.refused += 1
                writer.write(b"\x01\x01")
                await writer.drain()
                return
            writer.write(b"\x01\x00")
        _, command, _, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif address_type == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode()
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 1:
            writer.write(b"\x05\x07\x00\x01" + bytes(6))  # command not supported
            await writer.drain()
            return
        self.records.append(Passage(f"{host}:{port}", "CONNECT", user))
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            await writer.drain()
            return
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        await self._splice(reader, writer, up_reader, up_writer)


ECHO_IP = "203.0.113.7"
ECHO_COUNTRY = "NL"


def create_echo_app(
    *, ip: str = ECHO_IP, country: str = ECHO_COUNTRY, records: list[str] | None = None
) -> web.Application:
    """`GET` anything: `{"ip", "country"}`, the exit a proxy test reads back; each request's peer
    address is appended to `records`."""

    async def echo(request: web.Request) -> web.Response:
        if records is not None:
            records.append(request.remote or "")
        return web.json_response({"ip": ip, "country": country})

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    return app


class EchoServer:
    """The echo app on this loop (the process stack runs it as `python -m tests.fakes.egress_proxy`)."""

    def __init__(self, *, ip: str = ECHO_IP, country: str = ECHO_COUNTRY) -> None:
        self.ip = ip
        self.country = country
        self.records: list[str] = []  # the peer address of each request
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/json"

    async def start(self) -> None:
        app = create_echo_app(ip=self.ip, country=self.country, records=self.records)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class Servers:
    """An event loop in a thread that runs the fakes; stops them all on exit."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._started: list[Any] = []

    def __enter__(self) -> Servers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._started:
            with contextlib.suppress(Exception):
                self.run(server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def run(self, coro: Coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def start(self, server):
        self.run(server.start())
        self._started.append(server)
        return server

    def stop(self, server) -> None:
        """Kill it: open connections reset, new ones refused."""
        self.run(server.stop())


if __name__ == "__main__":
    main(create_echo_app)
