"""Steady calls (about 20/s) through all three services while a backing server is stopped for a few
seconds and started again, or a service restarts. Every call goes through (no 5xx at all while Redis
is away), and once everything is back every successful call is counted exactly once, on its account
and on its key.

Each test prints one `FAULT` line with its figures (calls made, failed, counted)."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.faults.conftest import HELLO, Load, counted, steady_load, until_counted
from tests.support.processes import free_port, spawn, wait_ready
from tests.support.servers import outage
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

OUTAGE_S = 6.0
LEASE_TTL_S = 6.0  # tests/support/stack.py


async def served_user(stack: Stack, **fields) -> tuple[str, str, str]:
    """A new user whose one account has served its first call (counted before the load starts);
    returns (PoolGate key, account id, upstream key)."""
    key, upstream_key, account = await asyncio.to_thread(stack.user_with_account, **fields)
    await until_counted(stack, account["id"], (1, 0, 1))
    return key, account["id"], upstream_key


def report(what: str, load: Load, counted_calls: int) -> None:
    failed = load.made - load.succeeded
    print(f"\nFAULT {what}: calls made {load.made}, failed {failed}, counted {counted_calls}")


async def test_rabbitmq_stopped_no_call_fails_and_every_call_is_counted(fault_stack: Stack) -> None:
    key, account_id, _ = await served_user(fault_stack)
    async with steady_load(fault_stack, key) as load:
        await asyncio.sleep(2)
        async with outage("rabbitmq"):
            await asyncio.sleep(1)
            # An account added meanwhile waits in the outbox, then reaches the index (and the proxy
            # serves it) once the broker is back and the consumers have reconnected by themselves.
            added_meanwhile = asyncio.create_task(
                asyncio.to_thread(fault_stack.user_with_account, deadline_s=120)
            )
            await asyncio.sleep(OUTAGE_S - 1)
        await asyncio.sleep(2)
    await added_meanwhile
    assert load.statuses == {200: load.made}, load.failures[:5]
    # Usage waited in the proxy's buffer; the consumer reconnected by itself.
    await until_counted(fault_stack, account_id, (1 + load.succeeded, 0, 1 + load.succeeded), timeout_s=120)
    report("rabbitmq", load, (await counted(fault_stack, account_id))[0] - 1)


async def test_postgresql_stopped_calls_flow_and_are_counted_once_it_is_back(fault_stack: Stack) -> None:
    key, account_id, _ = await served_user(fault_stack)
    async with httpx.AsyncClient(base_url=fault_stack.account_service_url, timeout=30) as api:
        spare = await api.post(
            "/api/v1/keys", headers={"authorization": f"Bearer {key}"}, json={"name": "spare"}
        )
        assert spare.status_code == 201, spare.text
        spare_key = spare.json()["key"]  # never used before the outage
        async with steady_load(fault_stack, key) as load:
            await asyncio.sleep(2)
            async with outage("postgresql"):
                await asyncio.sleep(1)
                # A key first used during the outage works: keys are authenticated from memory.
                first_use = await httpx.AsyncClient(
                    base_url=fault_stack.proxy_url,
                    headers={"authorization": f"Bearer {spare_key}"},
                    timeout=30,
                ).post("/v1/chat/completions", json=HELLO)
                assert first_use.status_code == 200, first_use.text
                # The management API says what is wrong, in its JSON shape, without hanging.
                listed = await api.get("/api/v1/accounts", headers={"authorization": f"Bearer {key}"})
                assert listed.status_code == 503, listed.text
                error = listed.json()["error"]
                assert error["kind"] == "unavailable" and "PostgreSQL" in error["message"], error
                assert listed.headers["retry-after"]
                ready = await api.get("/readyz")
                assert ready.status_code == 200, "allocation still works: not taken out of rotation"
                assert ready.json()["status"] == "degraded"
                assert ready.json()["checks"]["postgresql"].startswith("failed")
                await asyncio.sleep(OUTAGE_S - 1)
            await asyncio.sleep(2)
    assert load.statuses == {200: load.made}, load.failures[:5]
    # The outbox relay and its LISTEN connection are back: a new account serves promptly.
    await asyncio.to_thread(fault_stack.user_with_account, deadline_s=30)
    calls = 1 + load.succeeded + 1  # the first call, the load, the spare key's first use
    await until_counted(fault_stack, account_id, (calls, 0, calls), timeout_s=120)
    report("postgresql", load, (await counted(fault_stack, account_id))[0] - 2)


async def test_redis_stopped_allocation_degrades_without_a_5xx(fault_stack: Stack) -> None:
    key, account_id, _ = await served_user(fault_stack)
    async with steady_load(fault_stack, key) as load:
        await asyncio.sleep(2)
        async with outage("redis"):
            await asyncio.sleep(OUTAGE_S)
        await asyncio.sleep(2)
    server_errors = {status: n for status, n in load.statuses.items() if status >= 500 or status == 0}
    assert not server_errors, load.failures[:5]
    assert load.statuses == {200: load.made}, load.failures[:5]
    # It said so, and went back to the shared state once Redis answered.
    log = fault_stack.process("account_service").log_path.read_text()
    assert "allocation.degraded" in log and "allocation.shared_state_restored" in log
    await until_counted(fault_stack, account_id, (1 + load.succeeded, 0, 1 + load.succeeded), timeout_s=120)
    report("redis", load, (await counted(fault_stack, account_id))[0] - 1)


async def test_an_account_service_restart_costs_no_call(fault_stack: Stack) -> None:
    """The proxy waits for account_service while it cannot connect to it (up to
    POOLGATE_ACCOUNT_SERVICE_WAIT_S, 10 s by default), so a restart of a few seconds fails nothing."""
    key, account_id, _ = await served_user(fault_stack)
    old = fault_stack.process("account_service")
    port = fault_stack.account_service_url.rsplit(":", 1)[1]
    async with steady_load(fault_stack, key) as load:
        await asyncio.sleep(2)
        await asyncio.to_thread(old.stop)
        await asyncio.sleep(1)
        new = spawn(
            "account_service",
            ["-m", "services.account_service"],
            env=fault_stack.env,
            log_dir=old.log_path.parent,
        )
        fault_stack.processes[fault_stack.processes.index(old)] = new
        await asyncio.to_thread(wait_ready, new, f"http://127.0.0.1:{port}/readyz")
        await asyncio.sleep(2)
    assert load.statuses == {200: load.made}, load.failures[:5]
    await until_counted(fault_stack, account_id, (1 + load.succeeded, 0, 1 + load.succeeded), timeout_s=120)
    report("account_service restart", load, (await counted(fault_stack, account_id))[0] - 1)


async def test_account_service_gone_is_a_503_in_each_clients_format_and_the_proxy_unready(
    fault_stack: Stack, tmp_path
) -> None:
    key, _, _ = await served_user(fault_stack)
    port = free_port()
    lonely = spawn(
        "proxy_lonely",
        ["-m", "services.proxy_service"],
        env={
            **fault_stack.env,
            "POOLGATE_PROXY_PORT": str(port),
            "POOLGATE_PROXY_WORKERS": "1",
            "POOLGATE_ACCOUNT_SERVICE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
            "POOLGATE_ACCOUNT_SERVICE_WAIT_S": "0.5",
        },
        log_dir=tmp_path,
    )
    try:
        await asyncio.to_thread(wait_ready, lonely, f"http://127.0.0.1:{port}/healthz")
        headers = {"authorization": f"Bearer {key}", "x-api-key": key, "anthropic-version": "2023-06-01"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
        ) as client:
            openai_style = await client.post("/v1/chat/completions", json=HELLO)
            claude = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": HELLO["messages"]}
            anthropic_style = await client.post("/v1/messages", json=claude)
            ready = await client.get("/readyz")
    finally:
        lonely.stop()
    assert openai_style.status_code == 503
    assert openai_style.json()["error"]["type"] == "service_unavailable"
    assert "account_service unreachable" in openai_style.json()["error"]["message"]
    assert anthropic_style.status_code == 503
    assert anthropic_style.json()["type"] == "error"
    assert "account_service unreachable" in anthropic_style.json()["error"]["message"]
    assert ready.status_code == 503 and ready.json()["checks"]["account_service"].startswith("failed")


async def test_a_proxy_killed_mid_stream_frees_the_slot_and_the_counters_agree(
    fault_stack: Stack, tmp_path
) -> None:
    key, account_id, upstream_key = await served_user(fault_stack, max_concurrency=1)
    with fault_stack.fake("openai") as fake:  # a 30 s stream
        fake.post(
            f"/_fake/keys/{upstream_key}", json={"stream_chunks": 300, "chunk_delay_ms": 100}
        ).raise_for_status()
    port = free_port()
    doomed = spawn(
        "proxy_doomed",
        ["-m", "services.proxy_service"],
        env={**fault_stack.env, "POOLGATE_PROXY_PORT": str(port), "POOLGATE_PROXY_WORKERS": "1"},
        log_dir=tmp_path,
    )
    try:
        await asyncio.to_thread(wait_ready, doomed, f"http://127.0.0.1:{port}/readyz")
        headers = {"authorization": f"Bearer {key}"}
        body = {**HELLO, "stream": True, "stream_options": {"include_usage": True}}
        lines: list[str] = []
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
        ) as client:
            with pytest.raises(httpx.HTTPError):  # the stream breaks off: never a clean end
                async with client.stream("POST", "/v1/chat/completions", json=body) as resp:
                    assert resp.status_code == 200
                    async for line in resp.aiter_lines():
                        lines.append(line)
                        if len(lines) == 1:
                            doomed.popen.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert "data: [DONE]" not in lines
    finally:
        doomed.stop()
    async with httpx.AsyncClient(base_url=fault_stack.proxy_url, headers=headers, timeout=30) as client:
        while (status := (await client.post("/v1/chat/completions", json=HELLO)).status_code) == 503:
            assert time.monotonic() - killed < LEASE_TTL_S + 3, "the killed proxy's slot never came back"
            await asyncio.sleep(0.2)
        assert status == 200
    # The cut-off call was never counted as a success; the first and the last call were, once each.
    await until_counted(fault_stack, account_id, (2, 0, 2))
