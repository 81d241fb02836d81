"""Limits per API key, end to end: the official SDKs see a call over a limit as their RateLimitError
(with Retry-After and the limit named) and a model outside the key's list as PermissionDeniedError,
and the fake upstream never sees a refused call; the limits hold across proxy replicas."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import anthropic
import httpx
import openai
import orjson
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini"
HI = [{"role": "user", "content": "hi"}]


def _limited_key(stack: Stack, **limits: Any) -> tuple[str, str, str]:
    """A new user with one OpenAI-format account at the fake, and a second key of theirs with
    `limits` (the first served the warm-up call); returns (limited key, upstream key, its key id)."""
    owner_key, upstream_key, _ = stack.user_with_account()
    created = httpx.post(
        f"{stack.account_service_url}/api/v1/keys",
        headers={"authorization": f"Bearer {owner_key}"},
        json={"name": "limited", **limits},
    )
    assert created.status_code == 201, created.text
    return created.json()["key"], upstream_key, created.json()["id"]


def _hits(stack: Stack, upstream_key: str) -> int:
    with stack.fake("openai") as fake:
        logged = fake.get("/_fake/requests").json()
    return sum(1 for r in logged if r["headers"].get("authorization") == f"Bearer {upstream_key}")


def _openai(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def _anthropic(url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)


def _chat(url: str, key: str) -> str:
    return _openai(url, key).chat.completions.create(model=MODEL, messages=HI).choices[0].message.content


def _until(predicate: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def test_the_call_over_requests_per_minute_is_a_429_in_each_format(stack: Stack) -> None:
    key, upstream_key, _ = _limited_key(stack, requests_per_minute=3)
    before = _hits(stack, upstream_key)
    for _ in range(3):
        assert _chat(stack.proxy_url, key)
    with pytest.raises(openai.RateLimitError) as oa:
        _chat(stack.proxy_url, key)
    error = oa.value.body
    assert error["type"] == "rate_limit_error" and error["code"] == "requests_per_minute_exceeded"
    assert "requests_per_minute limit of 3 reached" in error["message"]
    assert 1 <= int(oa.value.response.headers["retry-after"]) <= 60

    with pytest.raises(anthropic.RateLimitError) as an:
        _anthropic(stack.proxy_url, key).messages.create(model=MODEL, max_tokens=16, messages=HI)
    assert an.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": error["message"]},
    }
    assert int(an.value.response.headers["retry-after"]) >= 1
    assert _hits(stack, upstream_key) - before == 3


def test_a_retried_call_counts_once_against_requests_per_minute(stack: Stack) -> None:
    key, upstream_key, _ = _limited_key(stack, requests_per_minute=1)
    with stack.fake("openai") as fake:  # the first attempt fails; the proxy tries the account again
        fake.post(f"/_fake/keys/{upstream_key}", json={"status": 500, "retry_after": 1, "times": 1})
    before = _hits(stack, upstream_key)
    assert _chat(stack.proxy_url, key)
    assert _hits(stack, upstream_key) - before == 2
    with pytest.raises(openai.RateLimitError):
        _chat(stack.proxy_url, key)


def _hold(stack: Stack, upstream_key: str, calls: int, delay_ms: int = 3000) -> None:
    with stack.fake("openai") as fake:
        fake.post(f"/_fake/keys/{upstream_key}", json={"delay_ms": delay_ms, "times": calls})


def _in_background(call: Callable[[], Any]) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(target=lambda: results.append(call()))
    thread.start()
    return thread, results


def test_the_third_concurrent_call_is_refused_and_a_finished_one_frees_its_slot(stack: Stack) -> None:
    key, upstream_key, _ = _limited_key(stack, concurrency=2)
    before = _hits(stack, upstream_key)
    _hold(stack, upstream_key, calls=2)
    held = [_in_background(lambda: _chat(stack.proxy_url, key)) for _ in range(2)]
    _until(lambda: _hits(stack, upstream_key) - before == 2)  # both are at the upstream, held
    with pytest.raises(openai.RateLimitError) as refused:
        _chat(stack.proxy_url, key)
    assert "concurrency limit of 2 reached" in refused.value.body["message"]
    assert _hits(stack, upstream_key) - before == 2
    held[0][0].join(timeout=30)
    assert held[0][1]  # it finished with an answer
    assert _chat(stack.proxy_url, key)
    held[1][0].join(timeout=30)
    assert held[1][1]


def test_back_to_back_calls_of_a_one_call_key_all_succeed(stack: Stack) -> None:
    """Each call's slot is back before the next call asks (released with its lease)."""
    key, _, _ = _limited_key(stack, concurrency=1)
    hello = {"model": MODEL, "messages": HI}
    with httpx.Client(
        base_url=stack.proxy_url, headers={"authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        statuses = [client.post("/v1/chat/completions", json=hello).status_code for _ in range(100)]
        stream = client.post("/v1/chat/completions", json=hello | {"stream": True}).status_code
    assert statuses == [200] * 100
    assert stream == 200
    assert _chat(stack.proxy_url, key)


def test_a_model_outside_the_keys_list_is_refused_before_any_account(stack: Stack) -> None:
    key, upstream_key, _ = _limited_key(stack, allowed_models=["gpt-4o-mini"])
    before = _hits(stack, upstream_key)
    with pytest.raises(openai.PermissionDeniedError) as oa:
        _openai(stack.proxy_url, key).chat.completions.create(model="gpt-4o", messages=HI)
    assert oa.value.status_code == 403
    assert (oa.value.body["type"], oa.value.body["param"]) == ("permission_error", "model")
    assert "'gpt-4o'" in oa.value.body["message"]
    with pytest.raises(anthropic.PermissionDeniedError) as an:
        _anthropic(stack.proxy_url, key).messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=HI
        )
    assert an.value.body["error"]["type"] == "permission_error"
    assert _hits(stack, upstream_key) == before
    assert _chat(stack.proxy_url, key)
    listed = [m.id for m in _openai(stack.proxy_url, key).models.list()]
    assert "gpt-4o" not in listed


async def _limit_events(stack: Stack):
    connection = await aio_pika.connect(stack.env["POOLGATE_AMQP_URL"])
    channel = await connection.channel()
    exchange = await channel.get_exchange(stack.env["POOLGATE_EVENTS_EXCHANGE"])
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="api_key.limit_reached")
    return connection, queue


async def _reached(queue, key_id: str, quiet_s: float = 1.0, timeout_s: float = 20.0) -> list[dict]:
    """The key's `api_key.limit_reached` events: wait for the first, then until none came for
    `quiet_s` (a second one would have to come soon: the calls that could cause it are all done)."""
    found: list[dict] = []
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and not (found and time.monotonic() - quiet_since > quiet_s):
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        body = orjson.loads(message.body)
        if body["data"]["key_id"] == key_id:
            found.append(body["data"])
            quiet_since = time.monotonic()
    return found


async def test_tokens_per_day_refuse_once_used_and_the_event_is_published_once(stack: Stack) -> None:
    key, upstream_key, key_id = _limited_key(stack, tokens_per_day=5)
    connection, queue = await _limit_events(stack)
    client = openai.AsyncOpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)
    try:
        reply = await client.chat.completions.create(model=MODEL, messages=HI)
        assert reply.usage.total_tokens >= 5  # one call uses the day's tokens up

        async def refused() -> openai.RateLimitError | None:
            try:
                await client.chat.completions.create(model=MODEL, messages=HI)
            except openai.RateLimitError as exc:
                return exc
            return None

        deadline = time.monotonic() + 20  # the usage event is counted asynchronously
        while (error := await refused()) is None:
            assert time.monotonic() < deadline, "the key was never refused"
            await asyncio.sleep(0.1)
        assert "tokens_per_day limit of 5 reached" in error.body["message"]
        assert int(error.response.headers["retry-after"]) >= 1
        hits = _hits(stack, upstream_key)
        assert (await refused()) is not None  # and it stays refused, never reaching the upstream
        assert _hits(stack, upstream_key) == hits

        reached = await _reached(queue, key_id)
        assert [(r["limit"], r["value"]) for r in reached] == [("tokens_per_day", 5)]
        assert reached[0]["day"] and reached[0]["resets_at"]
    finally:
        await client.close()
        await connection.close()


def test_limits_hold_across_two_proxy_replicas(stack: Stack) -> None:
    key, upstream_key, _ = _limited_key(stack, requests_per_minute=4, concurrency=2)
    with stack.proxy_replica() as (second_url, _):
        before = _hits(stack, upstream_key)
        _hold(stack, upstream_key, calls=2)
        held = [_in_background(lambda url=url: _chat(url, key)) for url in (stack.proxy_url, second_url)]
        _until(lambda: _hits(stack, upstream_key) - before == 2)
        for url in (stack.proxy_url, second_url):
            with pytest.raises(openai.RateLimitError) as refused:
                _chat(url, key)
            assert "concurrency limit of 2" in refused.value.body["message"]
        for thread, results in held:
            thread.join(timeout=30)
            assert results
        assert _chat(second_url, key) and _chat(stack.proxy_url, key)  # 4 calls in the minute
        for url in (stack.proxy_url, second_url):
            with pytest.raises(openai.RateLimitError) as refused:
                _chat(url, key)
            assert "requests_per_minute limit of 4" in refused.value.body["message"]
        assert _hits(stack, upstream_key) - before == 4
