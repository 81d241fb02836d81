"""A first end-to-end slice: both client APIs through all three services and the queue."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import anthropic
import asyncpg
import httpx
import openai
import orjson
import pytest

from shared.messages import Envelope
from shared.messages.broker import BATCH_CONTENT_TYPE
from tests.e2e.conftest import Stack

FAKE_TEXT = "Hello from the fake"
pytestmark = pytest.mark.e2e


def _user_with_key(stack: Stack, prefix: str) -> tuple[str, str]:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    stack.cli("users", "create", name)
    return name, stack.cli("keys", "create", "--user", name, "--name", "e2e")


def _add_account(stack: Stack, user: str, *, fmt: str, api_key: str) -> str:
    base = f"{stack.openai_url}/v1" if fmt == "openai" else stack.anthropic_url
    return stack.cli(
        "accounts", "add-custom", "--user", user, "--api-base", base, "--api-key", api_key, "--format", fmt
    )


def _hits(stack: Stack, which: str, upstream_key: str) -> int:
    with stack.fake(which) as fake:
        logged = fake.get("/_fake/requests").json()
    header = "authorization" if which == "openai" else "x-api-key"
    expected = f"Bearer {upstream_key}" if which == "openai" else upstream_key
    return sum(1 for r in logged if r["headers"].get(header) == expected)


@pytest.fixture(scope="module")
def alice(stack: Stack) -> str:
    """A user with one OpenAI-format and one Claude-format account; returns the user's PoolGate key."""
    user, key = _user_with_key(stack, "alice")
    _add_account(stack, user, fmt="openai", api_key="sk-alice-openai")
    _add_account(stack, user, fmt="claude", api_key="sk-ant-alice")
    return key


def _openai(stack: Stack, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)


def _anthropic(stack: Stack, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


async def test_openai_sdk_non_streaming(stack: Stack, alice: str) -> None:
    reply = await _openai(stack, alice).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
    )
    assert reply.choices[0].message.content == FAKE_TEXT
    assert reply.model == "gpt-4o-mini"
    assert reply.usage.completion_tokens > 0
    # Whichever of alice's accounts served it, the upstream saw that account's own key, never the
    # caller's PoolGate key.
    with stack.fake("openai") as fake_openai, stack.fake("anthropic") as fake_anthropic:
        seen = fake_openai.get("/_fake/requests").json() + fake_anthropic.get("/_fake/requests").json()
    last = max(seen, key=lambda r: r["ts"])
    assert last["headers"].get("authorization") == "Bearer sk-alice-openai" or (
        last["headers"].get("x-api-key") == "sk-ant-alice"
    )
    assert alice not in orjson.dumps(seen).decode()


async def test_openai_sdk_streaming(stack: Stack, alice: str) -> None:
    stream = await _openai(stack, alice).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, chunks = "", None, 0
    async for chunk in stream:
        chunks += 1
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        usage = chunk.usage or usage
    assert text == FAKE_TEXT
    assert chunks >= 5
    assert usage is not None and usage.total_tokens > 0


async def test_anthropic_sdk_non_streaming(stack: Stack, alice: str) -> None:
    message = await _anthropic(stack, alice).messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert message.content[0].text == FAKE_TEXT
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0


async def test_anthropic_sdk_streaming(stack: Stack, alice: str) -> None:
    async with _anthropic(stack, alice).messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Say hello"}]
    ) as stream:
        event_types = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert final.content[0].text == FAKE_TEXT
    assert event_types[0] == "message_start"
    assert event_types.count("message_stop") == 1


async def test_bad_key_is_401_in_each_clients_format(stack: Stack, alice: str) -> None:
    with pytest.raises(openai.AuthenticationError) as oa:
        await _openai(stack, "pg-not-a-real-key").chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert oa.value.status_code == 401
    assert oa.value.body["type"] == "authentication_error"

    with pytest.raises(anthropic.AuthenticationError) as an:
        await _anthropic(stack, "pg-not-a-real-key").messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    assert an.value.status_code == 401
    assert an.value.body["type"] == "error"
    assert an.value.body["error"]["type"] == "authentication_error"


async def test_no_account_is_503_with_the_reason(stack: Stack) -> None:
    _, key = _user_with_key(stack, "bob")
    with pytest.raises(openai.APIStatusError) as oa:
        await _openai(stack, key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert oa.value.status_code == 503
    assert "no active account" in oa.value.body["message"]

    with pytest.raises(anthropic.APIStatusError) as an:
        await _anthropic(stack, key).messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    assert an.value.status_code == 503
    assert "no active account" in an.value.body["error"]["message"]


async def _usage_listener(stack: Stack):
    connection = await aio_pika.connect(stack.env["POOLGATE_AMQP_URL"])
    channel = await connection.channel()
    exchange = await channel.get_exchange(stack.env["POOLGATE_EVENTS_EXCHANGE"])
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="usage.recorded")
    return connection, queue


async def test_429_fails_over_to_the_second_account_and_both_counters_move(stack: Stack) -> None:
    user, key = _user_with_key(stack, "carol")
    limited, healthy = f"sk-limited-{user}", f"sk-healthy-{user}"
    with stack.fake("openai") as fake:
        fake.post(f"/_fake/keys/{limited}", json={"status": 429, "retry_after": 1}).raise_for_status()
    limited_id = _add_account(stack, user, fmt="openai", api_key=limited)
    healthy_id = _add_account(stack, user, fmt="openai", api_key=healthy)
    connection, queue = await _usage_listener(stack)

    client = _openai(stack, key)
    calls = 0
    # The choice is random; call until the rate-limited account has been tried at least once.
    while _hits(stack, "openai", limited) == 0 and calls < 30:
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == FAKE_TEXT
        calls += 1
    limited_hits = _hits(stack, "openai", limited)
    assert limited_hits >= 1
    assert _hits(stack, "openai", healthy) == calls

    # One usage.recorded per upstream attempt, with the outcome of each.
    seen: dict[str, list[str]] = {limited_id: [], healthy_id: []}
    async with asyncio.timeout(15):
        async with queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                # The proxy sends its usage events in batches: one envelope per attempt.
                for envelope in Envelope.many_from_bytes(
                    message.body, batch=message.content_type == BATCH_CONTENT_TYPE
                ):
                    if envelope.data["account_id"] in seen:
                        seen[envelope.data["account_id"]].append(envelope.data["outcome"])
                if len(seen[limited_id]) + len(seen[healthy_id]) == limited_hits + calls:
                    break
    await connection.close()
    assert seen[limited_id] == ["rate_limited"] * limited_hits
    assert seen[healthy_id] == ["success"] * calls

    # The counters reach PostgreSQL through the batched usage consumer.
    conn = await asyncpg.connect(stack.env["POOLGATE_DATABASE_URL"])
    try:
        async with asyncio.timeout(15):
            while True:
                rows = {
                    str(r["id"]): (r["success_count"], r["fail_count"])
                    for r in await conn.fetch(
                        "SELECT id, success_count, fail_count FROM accounts WHERE id = ANY($1::uuid[])",
                        [limited_id, healthy_id],
                    )
                }
                if rows[limited_id] == (0, limited_hits) and rows[healthy_id] == (calls, 0):
                    break
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_services_report_health_and_metrics(stack: Stack) -> None:
    async with httpx.AsyncClient() as client:
        for url in (stack.proxy_url, stack.account_service_url):
            ready = (await client.get(f"{url}/readyz")).json()
            assert ready["status"] == "ok", ready
        worker = await client.get(f"{stack.worker_url}/healthz")
        assert worker.status_code == 200
        metrics = (await client.get(f"{stack.worker_url}/metrics")).text
        # The worker consumed the account.created events the CLI's outbox rows became.
        assert 'poolgate_worker_events_total{type="account.created"}' in metrics


async def test_a_cookie_an_upstream_sets_never_travels_with_another_call(stack: Stack) -> None:
    """A CDN in front of an upstream sets cookies; a pooled proxy must not carry one account's (or
    one user's) cookie into the next call to that host."""
    # By name, not by IP: aiohttp's cookie jar keeps no cookie from an IP address, so only a name
    # shows whether the proxy keeps cookies at all.
    by_name = stack.openai_url.replace("127.0.0.1", "localhost") + "/v1"
    keys = [stack.user_with_account(fmt="openai", api_base=by_name)[0] for _ in range(2)]
    with stack.fake("openai") as fake:
        fake.post(
            "/_fake/config", json={"response_headers": {"set-cookie": "__cf_bm=seen-by-a; Path=/"}}
        ).raise_for_status()
        fake.delete("/_fake/requests").raise_for_status()
        try:
            for key in [*keys, *keys]:
                reply = await _openai(stack, key).chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
                )
                assert reply.choices[0].message.content == FAKE_TEXT
            logged = fake.get("/_fake/requests").json()
        finally:
            fake.post("/_fake/config", json={"response_headers": {}}).raise_for_status()
    chats = [r for r in logged if r["path"].endswith("/chat/completions")]
    assert len(chats) == 4
    assert [r["headers"].get("cookie") for r in chats] == [None] * 4
