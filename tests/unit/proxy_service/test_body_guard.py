"""BodyGuard between the ASGI server's `receive` and the app: limits, stalls and clients that leave."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from services.proxy_service.body_guard import BodyGuard
from shared.errors import ClientGone, RequestTimeout, RequestTooLarge

STALL = object()


def scope(*headers: tuple[bytes, bytes], path: str = "/v1/messages") -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": list(headers)}


def server(*messages: Any):
    """The server's `receive`: the messages in order, STALL waits forever; and its `send`."""
    queue = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        item = queue.pop(0)
        if item is STALL:
            await asyncio.Event().wait()
        return item

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return receive, send, sent


def reading_app(seen: list[bytes]):
    async def app(scope, receive, send) -> None:
        while True:
            message = await receive()
            seen.append(message.get("body", b""))
            if not message.get("more_body"):
                return

    return app


def chunk(body: bytes, more: bool = True) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_declared_length_over_the_limit_is_answered_413_without_the_app() -> None:
    seen: list[bytes] = []
    receive, send, sent = server()
    guard = BodyGuard(reading_app(seen), max_bytes=10, timeout_s=1)
    await guard(scope((b"content-length", b"11")), receive, send)
    assert seen == []
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") not in sent[0]["headers"]  # the server drains the declared rest
    assert orjson.loads(sent[1]["body"])["error"]["type"] == "request_too_large"


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    seen: list[bytes] = []
    receive, _, _ = server(chunk(b"x" * 6), chunk(b"x" * 6), chunk(b"x"))
    guard = BodyGuard(reading_app(seen), max_bytes=10, timeout_s=1)
    with pytest.raises(RequestTooLarge) as refused:
        await guard(scope((b"transfer-encoding", b"chunked")), receive, None)
    assert seen == [b"x" * 6]  # the chunk that passed the limit never reached the app
    assert refused.value.headers() == {"connection": "close"}


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    seen: list[bytes] = []
    receive, _, _ = server(chunk(b"x" * 6), chunk(b"x" * 4, more=False))
    await BodyGuard(reading_app(seen), max_bytes=10, timeout_s=1)(
        scope((b"content-length", b"10")), receive, None
    )
    assert seen == [b"x" * 6, b"x" * 4]


async def test_a_stalled_body_ends_in_a_request_timeout_and_the_sweep_stops() -> None:
    receive, _, _ = server(chunk(b"{"), STALL)
    guard = BodyGuard(reading_app([]), max_bytes=10, timeout_s=0.2)
    with pytest.raises(RequestTimeout):
        await asyncio.wait_for(guard(scope((b"content-length", b"5")), receive, None), 2)
    assert asyncio.current_task().cancelling() == 0  # the guard's own cancel was taken back
    await asyncio.sleep(0.2)
    assert not guard._stalls.waiting and guard._stalls._sweep_timer is None


async def test_a_slow_but_moving_body_is_not_a_stall() -> None:
    async def trickle():  # 0.75 s in all, never 0.5 s without a byte
        for part in (b"a", b"b", b"c"):
            await asyncio.sleep(0.25)
            yield chunk(part, more=part != b"c")

    parts = trickle()

    async def receive() -> dict[str, Any]:
        return await anext(parts)

    seen: list[bytes] = []
    await BodyGuard(reading_app(seen), max_bytes=10, timeout_s=0.5)(
        scope((b"content-length", b"3")), receive, None
    )
    assert seen == [b"a", b"b", b"c"]


async def test_a_client_gone_mid_body_is_client_gone() -> None:
    receive, _, _ = server(chunk(b"{"), {"type": "http.disconnect"})
    with pytest.raises(ClientGone):
        await BodyGuard(reading_app([]), max_bytes=10, timeout_s=1)(
            scope((b"content-length", b"5")), receive, None
        )


async def test_a_request_without_a_body_passes_untouched() -> None:
    async def app(scope, receive, send) -> None:
        assert receive is original

    original, _, _ = server()
    await BodyGuard(app, max_bytes=10, timeout_s=1)(scope(), original, None)
