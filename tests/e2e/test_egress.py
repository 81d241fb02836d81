"""Egress proxies through the whole stack, with real local proxies (tests/fakes/egress_proxy.py): an
account's chat calls go through its HTTP or SOCKS5 proxy, its Kiro refresh too, and a proxy that dies
fails its account's attempts with `proxy_error` (the proxy marked unhealthy, the account cooling)
while the calls are served by another account, and the account never connects directly.

Every call sends a message of its own (sticky sessions may pin identical conversations to one account).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.fakes.egress_proxy import HttpProxy, Servers, Socks5Proxy

pytestmark = pytest.mark.e2e
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as running:
        yield running


class Pool:
    """One test's user, their accounts at the fake OpenAI upstream, and their proxies."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.key = ""
        self.api = httpx.AsyncClient(base_url=f"{stack.account_service_url}/api/v1", timeout=15)
        self.proxy = httpx.AsyncClient(base_url=stack.proxy_url, timeout=30)

    async def start(self) -> None:
        name = f"egress-{uuid.uuid4().hex[:6]}"
        await asyncio.to_thread(self.stack.cli, "users", "create", name)
        self.key = await asyncio.to_thread(self.stack.cli, "keys", "create", "--user", name)
        self.api.headers["authorization"] = self.proxy.headers["authorization"] = f"Bearer {self.key}"

    async def close(self) -> None:
        await self.api.aclose()
        await self.proxy.aclose()

    async def account(self) -> tuple[str, str]:
        """A custom API account at the fake OpenAI upstream: (its id, its upstream key)."""
        upstream_key = f"sk-egress-{uuid.uuid4().hex[:10]}"
        body = {"api_base": f"{self.stack.openai_url}/v1", "api_key": upstream_key, "format": "openai"}
        created = await self.api.post("/accounts/custom_api", json=body)
        assert created.status_code == 201, created.text
        return created.json()["id"], upstream_key

    async def add_proxy(self, fake, **fields) -> dict:
        body = {
            "name": f"p-{uuid.uuid4().hex[:6]}",
            "scheme": fake.scheme,
            "host": "127.0.0.1",
            "port": fake.port,
        }
        if fake.auth:
            body |= {"username": fake.auth[0], "password": fake.auth[1]}
        created = await self.api.post("/proxies", json=body | fields)
        assert created.status_code == 201, created.text
        return created.json()

    async def assign(self, proxy: dict, *account_ids: str) -> None:
        answer = await self.api.post(
            f"/proxies/{proxy['id']}/assign", json={"account_ids": list(account_ids)}
        )
        assert answer.status_code == 200, answer.text

    async def chat(self) -> httpx.Response:
        content = f"egress test {uuid.uuid4().hex}"  # distinct per call
        return await self.proxy.post(
            "/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": content}]}
        )

    def upstream_calls(self, upstream_key: str) -> int:
        """How many calls the fake upstream received with this account's key."""
        with self.stack.fake("openai") as fake:
            logged = fake.get("/_fake/requests").json()
        return sum(r["headers"].get("authorization") == f"Bearer {upstream_key}" for r in logged)

    async def proxy_view(self, proxy: dict) -> dict:
        return (await self.api.get(f"/proxies/{proxy['id']}")).json()


@pytest.fixture
async def pool(stack: Stack) -> Pool:
    pool = Pool(stack)
    await pool.start()
    yield pool
    await pool.close()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def upstream_target(stack: Stack) -> str:
    return stack.openai_url.removeprefix("http://")


@pytest.mark.parametrize("kind", ["http", "socks5"])
async def test_an_accounts_chat_calls_go_through_its_proxy(stack: Stack, servers: Servers, pool: Pool, kind):
    fake = servers.start(
        HttpProxy(auth=("u1", "pw-1")) if kind == "http" else Socks5Proxy(auth=("u1", "pw-1"))
    )
    account_id, upstream_key = await pool.account()
    proxy = await pool.add_proxy(fake)
    await pool.assign(proxy, account_id)

    # The assignment reaches the allocation index through an event: calls made before it go directly.
    async def through_proxy() -> bool:
        answer = await pool.chat()
        assert answer.status_code == 200, answer.text
        return bool(fake.records)

    await until(through_proxy, "no call ever went through the proxy")
    assert set(fake.targets) == {upstream_target(stack)}
    assert {r.user for r in fake.records} == {"u1"}
    before = len(fake.records), pool.upstream_calls(upstream_key)
    for _ in range(3):
        answer = await pool.chat()
        assert answer.status_code == 200, answer.text
    assert pool.upstream_calls(upstream_key) == before[1] + 3
    assert fake.targets == [upstream_target(stack)] * len(fake.records)  # nothing else went through it

    async def healthy() -> bool:  # never tested: the calls it carried make it healthy
        return (await pool.proxy_view(proxy))["healthy"] is True

    await until(healthy, "a proxy that carried calls never became healthy")


async def test_a_dead_proxy_fails_over_and_never_falls_back_to_direct(
    stack: Stack, servers: Servers, pool: Pool
):
    fake = servers.start(Socks5Proxy())
    behind, behind_key = await pool.account()
    _, direct_key = await pool.account()
    proxy = await pool.add_proxy(fake)
    await pool.assign(proxy, behind)
    await stack.until_pool_has(pool.key, 2)

    async def proxied_call_seen() -> bool:
        answer = await pool.chat()
        assert answer.status_code == 200, answer.text
        return bool(fake.records)

    await until(proxied_call_seen, "the proxied account never served through its proxy")
    servers.stop(fake)  # dies mid-test: connections reset, new ones refused
    behind_calls = pool.upstream_calls(behind_key)
    direct_calls = pool.upstream_calls(direct_key)

    served = 0

    async def proxy_marked_unhealthy() -> bool:
        nonlocal served
        answer = await pool.chat()
        assert answer.status_code == 200, answer.text  # served by the other account
        served += 1
        return (await pool.proxy_view(proxy))["healthy"] is False

    await until(proxy_marked_unhealthy, "the dead proxy was never marked unhealthy")
    view = await pool.proxy_view(proxy)
    assert "ProxyConnectionError" in view["last_error"], view
    account = (await pool.api.get(f"/accounts/{behind}")).json()
    assert account["egress_proxy"]["healthy"] is False and account["egress_proxy"]["last_error"]

    # The account cools: the next calls go to the other account without trying it again.
    for _ in range(4):
        answer = await pool.chat()
        assert answer.status_code == 200, answer.text
        served += 1
    assert pool.upstream_calls(behind_key) == behind_calls  # never a direct connection
    assert pool.upstream_calls(direct_key) == direct_calls + served
    health = (await pool.api.get("/pool/health")).json()
    kinds = {k["kind"]: k for k in health["kinds"]}
    assert kinds["custom_api"]["unavailable"]["cooling"] == 1 and kinds["custom_api"]["available"] == 1
    assert stack.process("proxy_service").logs().count("proxy_error") >= 1


async def test_a_kiro_refresh_goes_through_the_accounts_proxy(stack: Stack, servers: Servers, pool: Pool):
    fake = servers.start(HttpProxy(auth=("kiro", "pw-k")))
    token = f"rt-egress-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(base_url=stack.kiro_url, timeout=10) as kiro:
        registered = await kiro.post(
            "/_fake/kiro/lineages", json={"refresh_token": token, "region": "us-east-1", "auth": "social"}
        )
        registered.raise_for_status()
    created = await pool.api.post("/accounts/kiro", json={"refresh_token": token, "region": "us-east-1"})
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]

    async def active() -> bool:
        return (await pool.api.get(f"/accounts/{account_id}")).json()["status"] == "active"

    await until(active, "the Kiro account never became active")
    proxy = await pool.add_proxy(fake)
    await pool.assign(proxy, account_id)
    before = (await pool.api.get(f"/accounts/{account_id}")).json()["last_check"]["at"]
    assert (await pool.api.post(f"/accounts/{account_id}/refresh")).status_code == 202

    async def refreshed_again() -> bool:
        return (await pool.api.get(f"/accounts/{account_id}")).json()["last_check"]["at"] != before

    await until(refreshed_again, "the requested refresh never happened")
    account = (await pool.api.get(f"/accounts/{account_id}")).json()
    assert account["last_check"]["ok"] is True, account["last_check"]
    kiro_host = stack.kiro_url.removeprefix("http://")
    assert [r.target for r in fake.records] == [kiro_host] and {r.user for r in fake.records} == {"kiro"}

    # Its chat calls too (a CONNECT tunnel: the refresh was an absolute-URI request).
    content = f"egress kiro {uuid.uuid4().hex}"
    answer = await pool.proxy.post(
        "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": content}],
        },
    )
    assert answer.status_code == 200, answer.text
    assert [(r.target, r.method) for r in fake.records][1:] == [(kiro_host, "CONNECT")]
