"""Leases never strand: every attempt frees its account's slot at once, whatever happened to it,
whether RabbitMQ is up or not; a killed proxy's slots come back within the lease TTL; a client that
leaves before the first upstream byte cancels the upstream call."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from collections import Counter
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import Stack
from tests.support.processes import free_port, spawn, wait_ready

pytestmark = pytest.mark.e2e

LEASE_TTL_S = 6.0  # tests/e2e/conftest.py
MODEL = "gpt-4o-mini"
HELLO = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}]}


def account_for_new_user(stack: Stack, *, deadline_s: float = 60, **fields: Any) -> tuple[str, str]:
    """A new user with one custom API account of its own; returns (PoolGate key, upstream key)."""
    key, upstream_key, _ = stack.user_with_account(deadline_s=deadline_s, **fields)
    return key, upstream_key


def start_rabbitmq(stack: Stack) -> None:
    """Start the broker again and wait until the stack serves a new account (its event travels
    through RabbitMQ), so the next test finds everything running."""
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)
    account_for_new_user(stack, deadline_s=120)


def script(stack: Stack, which: str, upstream_key: str, **fields: Any) -> None:
    with stack.fake(which) as fake:
        fake.post(f"/_fake/keys/{upstream_key}", json=fields).raise_for_status()


def proxy(stack: Stack, key: str, *, timeout: httpx.Timeout | float = 30) -> httpx.Client:
    return httpx.Client(base_url=stack.proxy_url, headers={"authorization": f"Bearer {key}"}, timeout=timeout)


def test_back_to_back_calls_on_a_one_slot_account_all_succeed(stack: Stack) -> None:
    key, _ = account_for_new_user(stack, max_concurrency=1)
    with proxy(stack, key) as client:
        statuses = Counter(client.post("/v1/chat/completions", json=HELLO).status_code for _ in range(200))
    assert statuses == {200: 200}


async def test_32_clients_on_one_account_with_the_default_cap_never_see_a_503(stack: Stack) -> None:
    key, _ = account_for_new_user(stack)  # max_concurrency as a user gets it: 32
    statuses: Counter[int] = Counter()

    async def client_calls() -> None:
        async with httpx.AsyncClient(
            base_url=stack.proxy_url, headers={"authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            for _ in range(25):
                statuses[(await client.post("/v1/chat/completions", json=HELLO)).status_code] += 1

    await asyncio.gather(*(client_calls() for _ in range(32)))
    assert statuses == {200: 32 * 25}


def test_calls_keep_flowing_while_rabbitmq_is_stopped(stack: Stack) -> None:
    key, _ = account_for_new_user(stack, max_concurrency=2)
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def calls() -> None:
        with proxy(stack, key) as client:
            while not stop.is_set():
                statuses[client.post("/v1/chat/completions", json=HELLO).status_code] += 1
                time.sleep(0.05)

    caller = threading.Thread(target=calls)
    caller.start()
    try:
        time.sleep(1)
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
        time.sleep(6)  # past the lease TTL: nothing but the direct release frees a slot now
        during = sum(statuses.values())
    finally:
        try:
            start_rabbitmq(stack)
        finally:
            stop.set()
            caller.join()
    assert during > 60  # calls really flowed while the broker was away
    assert set(statuses) == {200}, statuses


def test_a_schema_too_deep_to_convert_is_a_400_and_frees_the_slot(stack: Stack) -> None:
    key, _ = account_for_new_user(stack, fmt="claude", max_concurrency=1)  # an OpenAI client: converted
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(130):
        schema = {"type": "object", "properties": {"a": schema}}
    client = openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="claude-sonnet-4-5",
            messages=[{"role": "user", "content": "Hello"}],
            tools=[{"type": "function", "function": {"name": "deep", "parameters": schema}}],
        )
    assert refused.value.status_code == 400
    assert refused.value.param.startswith("tools[0].function.parameters.properties.a.")
    reply = client.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.choices[0].message.content


def test_a_client_that_leaves_while_the_upstream_thinks_cancels_the_call_and_frees_the_slot(
    stack: Stack,
) -> None:
    key, upstream_key = account_for_new_user(stack, max_concurrency=1)
    script(stack, "openai", upstream_key, delay_ms=5000, times=1)
    with proxy(stack, key, timeout=httpx.Timeout(30, read=0.5)) as client, pytest.raises(httpx.ReadTimeout):
        client.post("/v1/chat/completions", json=HELLO)  # the client gives up and closes

    def caller_closed() -> bool:
        with stack.fake("openai") as fake:
            logged = fake.get("/_fake/requests").json()
        mine = [r for r in logged if r["headers"].get("authorization") == f"Bearer {upstream_key}"]
        return bool(mine) and mine[-1].get("caller_closed") is True

    deadline = time.monotonic() + 3
    while not caller_closed():
        assert time.monotonic() < deadline, "the upstream call went on after the client left"
        time.sleep(0.05)
    with proxy(stack, key) as client:  # the one slot is free at once, not after the upstream's 5 s
        assert client.post("/v1/chat/completions", json=HELLO).status_code == 200


def test_a_stream_longer_than_the_lease_ttl_keeps_its_slot(stack: Stack) -> None:
    key, upstream_key = account_for_new_user(stack, max_concurrency=1)
    script(stack, "openai", upstream_key, stream_chunks=45, chunk_delay_ms=200)  # a 9 s stream
    with proxy(stack, key) as streaming, proxy(stack, key) as other:
        with streaming.stream("POST", "/v1/chat/completions", json={**HELLO, "stream": True}) as resp:
            assert resp.status_code == 200
            started = time.monotonic()
            checked = False
            lines = []
            for line in resp.iter_lines():
                lines.append(line)
                if not checked and time.monotonic() - started > LEASE_TTL_S + 1:
                    # Renewed, the stream's lease still holds the account's one slot.
                    assert other.post("/v1/chat/completions", json=HELLO).status_code == 503
                    checked = True
            assert [line for line in lines if line][-1] == "data: [DONE]"
        assert checked
        assert other.post("/v1/chat/completions", json=HELLO).status_code == 200


def test_a_killed_proxys_slot_comes_back_within_the_lease_ttl(stack: Stack, tmp_path) -> None:
    key, upstream_key = account_for_new_user(stack, max_concurrency=1)
    script(stack, "openai", upstream_key, stream_chunks=300, chunk_delay_ms=100)  # a 30 s stream
    port = free_port()
    doomed = spawn(
        "proxy_doomed",
        ["-m", "services.proxy_service"],
        env={**stack.env, "POOLGATE_PROXY_PORT": str(port), "POOLGATE_PROXY_WORKERS": "1"},
        log_dir=tmp_path,
    )
    try:
        wait_ready(doomed, f"http://127.0.0.1:{port}/readyz")
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"authorization": f"Bearer {key}"}, timeout=30
            ) as client,
            client.stream("POST", "/v1/chat/completions", json={**HELLO, "stream": True}) as resp,
        ):
            assert resp.status_code == 200
            next(resp.iter_lines())
            doomed.popen.send_signal(signal.SIGKILL)
            doomed.popen.wait(10)
            killed = time.monotonic()
    finally:
        doomed.stop()
    with proxy(stack, key) as client:
        assert client.post("/v1/chat/completions", json=HELLO).status_code == 503  # still held
        while (status := client.post("/v1/chat/completions", json=HELLO).status_code) == 503:
            assert time.monotonic() - killed < LEASE_TTL_S + 3, "the killed proxy's slot never came back"
            time.sleep(0.2)
    assert status == 200
