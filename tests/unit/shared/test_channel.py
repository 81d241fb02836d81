"""The allocation channel (shared/channel.py) over real TCP connections on this machine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.channel import MAGIC, MAX_FRAME, UNREACHABLE, ChannelClient, ChannelServer, ServerConnection
from shared.errors import DependencyUnavailable, Forbidden, NoAccountAvailable, Unauthenticated
from shared.internal_client import InternalClient
from tests.support.processes import free_port

TOKEN = "service-token"


class _Handoff(asyncio.Protocol):
    """What shared/http_protocol.py does on account_service's HTTP port, without the HTTP."""

    def __init__(self, server: ChannelServer, adopted: list[ServerConnection]) -> None:
        self._server = server
        self._adopted = adopted
        self._connection: ServerConnection | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._connection is None:
            assert data[:1] == MAGIC
            self._connection = self._server.adopt(self._transport)
            self._adopted.append(self._connection)
            data = data[1:]
        self._connection.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._connection.connection_lost()


@contextlib.asynccontextmanager
async def serving(handler, *, port: int = 0, **kwargs: Any) -> AsyncIterator[tuple[int, list]]:
    server = ChannelServer(handler, token=TOKEN, **kwargs)
    adopted: list[ServerConnection] = []
    listener = await asyncio.get_running_loop().create_server(
        lambda: _Handoff(server, adopted), "127.0.0.1", port
    )
    try:
        yield listener.sockets[0].getsockname()[1], adopted
    finally:
        listener.close()
        server.close()
        await listener.wait_closed()


async def echo(method: str, body: Any) -> Any:
    if method == "busy":
        raise NoAccountAvailable("all busy", retry_after=3)
    if isinstance(body, dict) and "sleep" in body:
        await asyncio.sleep(body["sleep"])
    return {"method": method, "body": body}


async def test_concurrent_calls_on_one_connection_get_their_own_answers() -> None:
    async with serving(echo) as (port, adopted):
        client = ChannelClient("127.0.0.1", port, token=TOKEN)
        try:
            # The first call sent is answered last: answers are matched by id, not by order.
            answers = await asyncio.gather(
                *(client.call("m", {"n": n, "sleep": 0.05 * (5 - n)}) for n in range(5))
            )
        finally:
            await client.close()
    assert [a["body"]["n"] for a in answers] == [0, 1, 2, 3, 4]
    assert len(adopted) == 1


async def test_a_refusal_is_rebuilt_with_its_class_and_retry_after() -> None:
    async with serving(echo) as (port, _):
        client = ChannelClient("127.0.0.1", port, token=TOKEN)
        try:
            with pytest.raises(NoAccountAvailable) as refused:
                await client.call("busy", {})
        finally:
            await client.close()
    assert refused.value.retry_after == 3 and refused.value.status_code == 503


async def test_a_wrong_token_is_refused() -> None:
    async with serving(echo) as (port, _):
        client = ChannelClient("127.0.0.1", port, token="not-the-token")
        try:
            with pytest.raises(Unauthenticated):
                await client.call("m", {})
        finally:
            await client.close()


async def test_a_refused_peer_gets_the_reason() -> None:
    def loopback_only(host: str | None) -> Forbidden:
        return Forbidden("loopback clients only", code="internal_api_loopback_only")

    async with serving(echo, accept=loopback_only) as (port, _):
        client = ChannelClient("127.0.0.1", port, token=TOKEN)
        try:
            with pytest.raises(Forbidden) as refused:
                await client.call("m", {})
        finally:
            await client.close()
    assert refused.value.code == "internal_api_loopback_only"


async def test_nothing_listening_is_unreachable_and_a_server_that_comes_back_is_waited_for() -> None:
    port = free_port()
    channel = ChannelClient("127.0.0.1", port, token=TOKEN)
    with pytest.raises(DependencyUnavailable) as down:
        await channel.call("m", {})
    assert down.value.code == UNREACHABLE

    client = InternalClient(f"http://127.0.0.1:{port}", TOKEN, unreachable_wait_s=10, channel=channel)
    await client.start()

    async def models(method: str, body: Any) -> Any:
        return {"models": ["m"], "any_model": False}

    async def start_late() -> None:
        await asyncio.sleep(0.3)
        async with serving(models, port=port):
            await asyncio.sleep(2)

    late = asyncio.create_task(start_late())
    try:
        assert (await client.models("pg-k")).models == ("m",)
    finally:
        await client.close()
        await late


async def test_a_connection_lost_during_a_call_is_not_sent_again() -> None:
    """account_service may have applied it: the caller is told, not the call repeated."""
    seen: list[str] = []

    async def dies(method: str, body: Any) -> Any:
        seen.append(method)
        for connection in adopted:
            connection.close()
        await asyncio.sleep(1)

    async with serving(dies) as (port, adopted):
        client = InternalClient(
            f"http://127.0.0.1:{port}",
            TOKEN,
            unreachable_wait_s=10,
            channel=ChannelClient("127.0.0.1", port, token=TOKEN),
        )
        await client.start()
        try:
            with pytest.raises(DependencyUnavailable) as lost:
                await client.models("pg-k")
        finally:
            await client.close()
    assert lost.value.code != UNREACHABLE
    assert seen == ["models"]


async def test_a_server_shutting_down_answers_what_it_has_and_the_next_call_takes_a_new_connection() -> None:
    async with serving(echo) as (port, adopted):
        client = ChannelClient("127.0.0.1", port, token=TOKEN)
        try:
            await client.call("m", {})
            running = asyncio.create_task(client.call("slow", {"sleep": 0.2}))
            await asyncio.sleep(0.05)
            adopted[0].shutdown()  # what uvicorn's graceful shutdown does to every connection
            assert (await running)["method"] == "slow"
            assert (await client.call("after", {}))["method"] == "after"
        finally:
            await client.close()
    assert len(adopted) == 2


async def test_an_oversized_frame_closes_the_connection() -> None:
    async with serving(echo) as (port, adopted):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(MAGIC + (MAX_FRAME + 1).to_bytes(4, "big") + b"x" * 64)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing answered
        writer.close()
    assert len(adopted) == 1
