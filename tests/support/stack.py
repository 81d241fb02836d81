"""The whole gateway as separate processes: account_service, proxy_service, refresh_worker, plus
an OpenAI-format and an Anthropic-format fake upstream, a fake Kiro (auth hosts and chat host on one
port; the region is a path segment, so the fake sees which region's host each call was meant for), and
a fake jimeng-api (the server Dreamina accounts are called through, `POOLGATE_JIMENG_API_URL`), and
the echo server an egress proxy test fetches through the proxy (`POOLGATE_PROXY_ECHO_URL`).
Used by tests/e2e and tests/faults, each with resources of its own."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.infra import Infra, create_database, teardown
from tests.support.processes import Process, free_port, run_cli, spawn, spawn_listening, wait_ready


@dataclass
class Stack:
    env: dict[str, str]
    proxy_url: str
    account_service_url: str
    worker_url: str
    openai_url: str
    anthropic_url: str
    kiro_url: str
    jimeng_url: str
    processes: list[Process] = field(default_factory=list)

    def cli(self, *args: str, input: str | None = None) -> str:
        return run_cli(*args, env=self.env, input=input)

    def fake(self, which: str) -> httpx.Client:
        urls = {"openai": self.openai_url, "anthropic": self.anthropic_url, "claude": self.anthropic_url}
        urls["kiro"] = self.kiro_url
        urls["jimeng"] = self.jimeng_url
        return httpx.Client(base_url=urls[which], timeout=5)

    def user_with_account(
        self, *, fmt: str = "openai", deadline_s: float = 60, **fields: Any
    ) -> tuple[str, str, dict]:
        """A new user with one custom API account of its own at the fakes, served by the proxy;
        returns (PoolGate key, upstream key, the account as created)."""
        name = f"user-{uuid.uuid4().hex[:8]}"
        self.cli("users", "create", name)
        key = self.cli("keys", "create", "--user", name, "--name", "test")
        upstream_key = f"sk-{uuid.uuid4().hex}"
        base = f"{self.openai_url}/v1" if fmt == "openai" else self.anthropic_url
        created = httpx.post(
            f"{self.account_service_url}/api/v1/accounts/custom_api",
            headers={"authorization": f"Bearer {key}"},
            json={"api_base": base, "api_key": upstream_key, "format": fmt} | fields,
        )
        assert created.status_code == 201, created.text
        hello = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
        with httpx.Client(base_url=self.proxy_url, headers={"authorization": f"Bearer {key}"}) as client:
            deadline = time.monotonic() + deadline_s  # it reaches the allocation index through RabbitMQ
            while client.post("/v1/chat/completions", json=hello).status_code != 200:
                assert time.monotonic() < deadline, "the new account never served"
                time.sleep(0.1)
        return key, upstream_key, created.json()

    async def until_pool_has(self, key: str, accounts: int, timeout_s: float = 30) -> None:
        """account_service's allocation index learns of accounts added by the CLI through events:
        wait until `key`'s pool holds `accounts` of them (read from the internal models list, so no
        upstream sees a call)."""
        from shared.settings import DEV_SERVICE_TOKEN

        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.account_service_url, timeout=5) as client:
            while True:
                answer = await client.post(
                    "/internal/v1/models",
                    headers={"authorization": f"Bearer {DEV_SERVICE_TOKEN}"},
                    json={"api_key": key},
                )
                if answer.status_code == 200 and answer.json().get("accounts", 0) >= accounts:
                    return
                assert time.monotonic() < deadline, f"the pool never held {accounts} accounts: {answer.text}"
                await asyncio.sleep(0.05)

    @contextlib.contextmanager
    def proxy_replica(self, **settings: str) -> Iterator[tuple[str, Process]]:
        """One more proxy process on this stack, with settings of its own (`POOLGATE_...=value`);
        yields its URL and its process, and stops it afterwards."""
        port = free_port()
        env = {**self.env, "POOLGATE_PROXY_PORT": str(port), **settings}
        log_dir = self.process("proxy_service").log_path.parent
        proc = spawn(f"proxy_service-{port}", ["-m", "services.proxy_service"], env=env, log_dir=log_dir)
        try:
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
            yield f"http://127.0.0.1:{port}", proc
        finally:
            proc.stop()

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.logs()[-4000:]}" for p in self.processes)


@contextlib.contextmanager
def running_stack(infra: Infra, log_dir: Path) -> Iterator[Stack]:
    """Start the fakes and the three services on `infra`'s resources; stop them and drop the
    resources afterwards."""
    processes: list[Process] = []
    asyncio.run(create_database(infra))
    try:
        fake_openai, openai_port = spawn_listening(
            "fake_openai", "tests.fakes.openai_upstream", log_dir=log_dir
        )
        processes.append(fake_openai)
        fake_anthropic, anthropic_port = spawn_listening(
            "fake_anthropic", "tests.fakes.anthropic_upstream", log_dir=log_dir
        )
        processes.append(fake_anthropic)
        fake_kiro, kiro_port = spawn_listening("fake_kiro", "tests.fakes.kiro_upstream", log_dir=log_dir)
        processes.append(fake_kiro)
        kiro = f"http://127.0.0.1:{kiro_port}"
        fake_jimeng, jimeng_port = spawn_listening(
            "fake_jimeng", "tests.fakes.jimeng_upstream", log_dir=log_dir
        )
        processes.append(fake_jimeng)
        jimeng = f"http://127.0.0.1:{jimeng_port}"
        fake_echo, echo_port = spawn_listening("fake_echo", "tests.fakes.egress_proxy", log_dir=log_dir)
        processes.append(fake_echo)
        proxy_port, account_port, worker_port = free_port(), free_port(), free_port()
        env = infra.env(
            POOLGATE_PROXY_PORT=str(proxy_port),
            POOLGATE_ACCOUNT_SERVICE_PORT=str(account_port),
            POOLGATE_REFRESH_WORKER_PORT=str(worker_port),
            POOLGATE_ACCOUNT_SERVICE_URL=f"http://127.0.0.1:{account_port}",
            # Streams ping soon and often, so that test_failover sees pings without slow upstreams.
            POOLGATE_PING_AFTER_S="0.3",
            POOLGATE_PING_INTERVAL_S="0.2",
            # Short leases, renewed often: a killed proxy's slot comes back within seconds, and every
            # stream longer than the TTL shows that renewal keeps its slot.
            POOLGATE_LEASE_TTL_S="6",
            POOLGATE_LEASE_RENEW_S="2",
            # The worker's retry queue delay (one TTL per queue): short, so retried refreshes are quick.
            POOLGATE_RETRY_DELAY_MS="500",
            POOLGATE_KIRO_SOCIAL_REFRESH_URL=kiro + "/auth/{region}/refreshToken",
            POOLGATE_KIRO_IDC_REFRESH_URL=kiro + "/oidc/{region}/token",
            POOLGATE_KIRO_CHAT_URL=kiro + "/q/{api_region}/generateAssistantResponse",
            POOLGATE_KIRO_USAGE_URL=kiro + "/q/{api_region}/getUsageLimits",
            POOLGATE_JIMENG_API_URL=jimeng,
            # What an egress proxy test fetches through the proxy (tests/fakes/egress_proxy.py).
            POOLGATE_PROXY_ECHO_URL=f"http://127.0.0.1:{echo_port}/json",
            # No load balancer to tell: a stopped proxy skips the readiness grace (the rolling
            # restart test sets its own).
            POOLGATE_PROXY_SHUTDOWN_GRACE_S="0",
        )
        run_cli("migrate", env=env)
        for name, port in (
            ("account_service", account_port),
            ("refresh_worker", worker_port),
            ("proxy_service", proxy_port),
        ):
            proc = spawn(name, ["-m", f"services.{name}"], env=env, log_dir=log_dir)
            processes.append(proc)
            wait_ready(proc, f"http://127.0.0.1:{port}/{'healthz' if name == 'refresh_worker' else 'readyz'}")
        yield Stack(
            env=env,
            proxy_url=f"http://127.0.0.1:{proxy_port}",
            account_service_url=f"http://127.0.0.1:{account_port}",
            worker_url=f"http://127.0.0.1:{worker_port}",
            openai_url=f"http://127.0.0.1:{openai_port}",
            anthropic_url=f"http://127.0.0.1:{anthropic_port}",
            kiro_url=kiro,
            jimeng_url=jimeng,
            processes=processes,
        )
    finally:
        for proc in reversed(processes):
            proc.stop()
        asyncio.run(teardown(infra))
