"""Failover and limits with the official SDKs: the client's own format first, the same account again
after its Retry-After when no other is left, keep-alive pings while a stream waits for its first
byte, and a stream that cannot be served ending with the real error.

The stack's proxy pings after 0.3 s, every 0.2 s (`conftest.py`); Retry-After values are 1 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aio_pika
import anthropic
import httpx
import openai
import pytest

from shared.messages import Envelope
from shared.messages.broker import BATCH_CONTENT_TYPE
from tests.e2e.conftest import Stack

FAKE_TEXT = "Hello from the fake"
MODEL = "claude-sonnet-4-6"
HI = [{"role": "user", "content": "Hi"}]
ANTHROPIC_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
OPENAI_PING = b": ping\n\n"
pytestmark = pytest.mark.e2e


async def _user(stack: Stack, *accounts: tuple[str, str]) -> tuple[str, list[str]]:
    """A user whose pool is exactly `accounts` ((format, upstream key) pairs): their PoolGate key
    and the accounts' ids. The CLI runs in parallel where it can: each run takes about a second."""
    name = f"fail-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(stack.cli, "users", "create", name)
    runs = [("keys", "create", "--user", name)]
    for fmt, api_key in accounts:
        base = f"{stack.openai_url}/v1" if fmt == "openai" else stack.anthropic_url
        options = ("--user", name, "--api-base", base, "--format", fmt, "--api-key", api_key)
        runs.append(("accounts", "add-custom", *options))
    key, *ids = await asyncio.gather(*(asyncio.to_thread(stack.cli, *run) for run in runs))
    await stack.until_pool_has(key, len(ids))
    return key, ids


def _fake_of(fmt: str) -> str:
    return "openai" if fmt == "openai" else "anthropic"


def _script(stack: Stack, which: str, upstream_key: str, **script: object) -> None:
    with stack.fake(which) as fake:
        fake.post(f"/_fake/keys/{upstream_key}", json=script).raise_for_status()


def _calls(stack: Stack, which: str, upstream_key: str) -> list[float]:
    """When the fake received each request made with `upstream_key`."""
    with stack.fake(which) as fake:
        logged = fake.get("/_fake/requests").json()
    if which == "openai":
        header, value = "authorization", f"Bearer {upstream_key}"
    else:
        header, value = "x-api-key", upstream_key
    return [r["ts"] for r in logged if r["headers"].get(header) == value]


def _new_key(prefix: str) -> str:
    return f"sk-{prefix}-{uuid.uuid4().hex[:8]}"


def _openai(stack: Stack, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)


def _anthropic(stack: Stack, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


def _raw_stream_request(stack: Stack, client_format: str, key: str) -> tuple[str, dict, dict]:
    if client_format == "claude":
        return (
            f"{stack.proxy_url}/v1/messages",
            {"x-api-key": key, "anthropic-version": "2023-06-01"},
            {"model": MODEL, "max_tokens": 64, "messages": HI, "stream": True},
        )
    return (
        f"{stack.proxy_url}/v1/chat/completions",
        {"authorization": f"Bearer {key}"},
        {"model": MODEL, "messages": HI, "stream": True},
    )


async def _raw_stream(stack: Stack, client_format: str, key: str) -> tuple[int, bytes]:
    url, headers, body = _raw_stream_request(stack, client_format, key)
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", url, headers=headers, json=body) as response,
    ):
        return response.status_code, b"".join([chunk async for chunk in response.aiter_raw()])


async def _stream_text(stack: Stack, client_format: str, key: str) -> str:
    if client_format == "claude":
        async with _anthropic(stack, key).messages.stream(model=MODEL, max_tokens=64, messages=HI) as s:
            return (await s.get_final_message()).content[0].text
    text = ""
    stream = await _openai(stack, key).chat.completions.create(model=MODEL, messages=HI, stream=True)
    async for chunk in stream:
        text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    return text


async def test_a_lone_account_rate_limited_once_is_tried_again_after_its_retry_after(stack: Stack) -> None:
    upstream_key = _new_key("ant-once")
    _script(stack, "anthropic", upstream_key, status=429, retry_after=1, times=1)
    key, _ = await _user(stack, ("claude", upstream_key))
    started = time.monotonic()
    message = await _anthropic(stack, key).messages.create(model=MODEL, max_tokens=64, messages=HI)
    assert message.content[0].text == FAKE_TEXT
    first, second = _calls(stack, "anthropic", upstream_key)
    assert second - first >= 0.95  # the upstream's Retry-After was honoured
    assert time.monotonic() - started < 5


async def test_a_client_is_served_by_its_own_format_first(stack: Stack) -> None:
    openai_key, claude_key = _new_key("oa-own"), _new_key("ant-own")
    key, _ = await _user(stack, ("openai", openai_key), ("claude", claude_key))
    for _ in range(4):
        reply = await _openai(stack, key).chat.completions.create(model=MODEL, messages=HI)
        assert reply.choices[0].message.content == FAKE_TEXT
        message = await _anthropic(stack, key).messages.create(model=MODEL, max_tokens=64, messages=HI)
        assert message.content[0].text == FAKE_TEXT
    # Pass-through every time: neither call was converted although both accounts could serve both.
    assert len(_calls(stack, "openai", openai_key)) == 4
    assert len(_calls(stack, "anthropic", claude_key)) == 4


async def test_an_openai_client_whose_openai_account_is_rate_limited_is_served_by_conversion(
    stack: Stack,
) -> None:
    limited, claude_key = _new_key("oa-limited"), _new_key("ant-spare")
    _script(stack, "openai", limited, status=429, retry_after=1)
    key, _ = await _user(stack, ("openai", limited), ("claude", claude_key))
    client = _openai(stack, key)
    for stream in (False, True, False, True):
        if stream:
            assert await _stream_text(stack, "openai", key) == FAKE_TEXT
        else:
            reply = await client.chat.completions.create(model=MODEL, messages=HI)
            assert reply.choices[0].message.content == FAKE_TEXT
    tried, served = _calls(stack, "openai", limited), _calls(stack, "anthropic", claude_key)
    assert len(served) == 4
    assert tried and tried[0] < served[0]  # the own-format account was asked first


@pytest.mark.parametrize(
    ("client_format", "ping", "first_event"),
    [
        ("claude", ANTHROPIC_PING, b"event: message_start"),
        ("openai", OPENAI_PING, b"data: {"),
    ],
)
async def test_a_slow_stream_is_kept_alive_with_pings_then_relayed(
    stack: Stack, client_format: str, ping: bytes, first_event: bytes
) -> None:
    slow = _new_key("slow")
    _script(stack, _fake_of(client_format), slow, delay_ms=1500)
    key, _ = await _user(stack, (client_format, slow))
    status, body = await _raw_stream(stack, client_format, key)
    assert status == 200
    assert body.startswith(ping)
    # At 0.3 s, then every 0.2 s until the upstream answers at 1.5 s (Anthropic's own stream has a
    # ping of its own after message_start).
    assert body[: body.index(first_event)].count(ping) >= 3
    assert await _stream_text(stack, client_format, key) == FAKE_TEXT


async def test_a_prompt_stream_is_not_pinged_and_a_bad_key_still_gets_its_status(stack: Stack) -> None:
    key, _ = await _user(stack, ("claude", _new_key("prompt")), ("openai", _new_key("prompt")))
    for client_format, first_event in (("claude", b"event: message_start\n"), ("openai", b"data: {")):
        status, body = await _raw_stream(stack, client_format, key)
        assert status == 200 and body.startswith(first_event)
        status, body = await _raw_stream(stack, client_format, "pg-not-a-real-key")
        assert status == 401 and b"authentication_error" in body


async def test_an_anthropic_stream_that_cannot_be_served_ends_with_the_rate_limit_error(stack: Stack) -> None:
    limited = _new_key("ant-always")
    _script(stack, "anthropic", limited, status=429, retry_after=1)
    key, _ = await _user(stack, ("claude", limited))
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as raised:
        async with _anthropic(stack, key).messages.stream(model=MODEL, max_tokens=64, messages=HI) as s:
            async for _ in s:
                pass
    assert time.monotonic() - started >= 3  # three waits of the upstream's Retry-After, pinged
    assert raised.value.status_code == 200  # the stream had started: it ended with an error event
    assert raised.value.body["error"] == {
        "type": "rate_limit_error",
        "message": "Number of requests has exceeded your per-minute rate limit.",
    }
    assert len(_calls(stack, "anthropic", limited)) == 4  # the first try and 3 retries


async def test_an_openai_stream_that_cannot_be_served_ends_with_the_rate_limit_error(stack: Stack) -> None:
    limited = _new_key("oa-always")
    _script(stack, "openai", limited, status=429, retry_after=1)
    key, _ = await _user(stack, ("openai", limited))
    stream = await _openai(stack, key).chat.completions.create(model=MODEL, messages=HI, stream=True)
    with pytest.raises(openai.APIError) as raised:
        async for _ in stream:
            pass
    assert not isinstance(raised.value, openai.APIStatusError)  # an error event, not an error status
    assert raised.value.message.startswith("Rate limit reached for requests")
    assert raised.value.body["code"] == "rate_limit_exceeded"


async def test_a_client_that_leaves_while_pinged_cancels_the_pending_attempt(stack: Stack) -> None:
    slow = _new_key("ant-leave")
    _script(stack, "anthropic", slow, delay_ms=3000)
    key, [account_id] = await _user(stack, ("claude", slow))
    connection = await aio_pika.connect(stack.env["POOLGATE_AMQP_URL"])
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(stack.env["POOLGATE_EVENTS_EXCHANGE"])
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="usage.recorded")

        url, headers, body = _raw_stream_request(stack, "claude", key)
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("POST", url, headers=headers, json=body) as response,
        ):
            assert await response.aiter_raw().__anext__() == ANTHROPIC_PING
        left = time.monotonic()

        async with asyncio.timeout(5), queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                batch = message.content_type == BATCH_CONTENT_TYPE
                outcomes = [
                    e.data["outcome"]
                    for e in Envelope.many_from_bytes(message.body, batch=batch)
                    if e.data["account_id"] == account_id
                ]
                if outcomes:
                    break
    finally:
        await connection.close()
    assert outcomes == ["cancelled"]
    assert time.monotonic() - left < 1.5  # long before the upstream would have answered
