"""The whole gateway as separate processes: account_service, proxy_service, refresh_worker, plus
an OpenAI-format and an Anthropic-format fake upstream, and a fake Kiro (auth hosts and chat host on one
port; the region is a path segment, so the fake sees which region's host each call was meant for)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

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
    processes: list[Process] = field(default_factory=list)

    def cli(self, *args: str) -> str:
        return run_cli(*args, env=self.env)

    def fake(self, which: str) -> httpx.Client:
        urls = {"openai": self.openai_url, "anthropic": self.anthropic_url, "claude": self.anthropic_url}
        urls["kiro"] = self.kiro_url
        return httpx.Client(base_url=urls[which], timeout=5)

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.logs()[-4000:]}" for p in self.processes)


@pytest.fixture(scope="session")
def stack(infra: Infra, tmp_path_factory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("stack-logs")
    processes: list[Process] = []
    infra = infra.child("e2e")
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
            processes=processes,
        )
    finally:
        for proc in reversed(processes):
            proc.stop()
        asyncio.run(teardown(infra))
