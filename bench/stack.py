"""The gateway under test: fake upstreams (OpenAI, Anthropic, Kiro, jimeng-api), account_service,
refresh_worker and proxy_service as child processes (as in tests/e2e), on an isolated database / Redis
prefix / exchange, with one user, one PoolGate key and its accounts per pool, pointing at the fakes.
Everything is stopped and dropped on exit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis import Redis

from tests.support.infra import Infra, create_database, provision, teardown
from tests.support.processes import Process, free_port, run_cli, spawn, spawn_listening, wait_ready

SERVICES = ("account_service", "refresh_worker", "proxy_service")
USER = "bench"
# One user per pool: "both" is served without conversion; the others force it.
# The allocation bench reserves leases it never releases (no usage events follow), so its user has a
# pool of 20 accounts with the largest cap an account may have: room for 200,000 leases, so the bench
# measures allocation, not full accounts.
POOLS = {
    "both": ("openai", "claude"),
    "openai": ("openai",),
    "claude": ("claude",),
    "alloc": ("openai",) * 20,
    "kiro": ("kiro",),
    "jimeng": ("jimeng",),
}
ALLOC_CONCURRENCY = 10_000
KIRO_REGION = "us-east-1"
FAKES = ("openai", "anthropic", "kiro", "jimeng")
JIMENG_REGION = "us"
JIMENG_SESSIONID = "0123456789abcdef0123456789abcdef"  # the bench's one Dreamina account's


@dataclass
class Stack:
    log_dir: Path
    proxy_url: str
    relay_url: str  # bench/bare_relay.py in front of the fake OpenAI upstream
    openai_url: str  # fake OpenAI upstream, without /v1
    anthropic_url: str  # fake Anthropic upstream
    kiro_url: str  # fake Kiro: auth hosts and chat host on one port
    kiro_token: str  # an access token minted at the fake Kiro, for the direct runs
    jimeng_url: str  # fake jimeng-api, the server Dreamina accounts are called through
    account_service_url: str
    keys: dict[str, str]  # PoolGate keys per pool (POOLS): "both", "openai", "claude", "alloc", "kiro"
    processes: dict[str, Process]
    infra: Infra

    def pids(self, *names: str) -> dict[str, int]:
        return {name: self.processes[name].popen.pid for name in names}

    def configure_fakes(self, **config: int) -> None:
        """Reset both fakes, then apply `config` (request logging always off: it costs CPU)."""
        for url in (self.openai_url, self.anthropic_url):
            with httpx.Client(base_url=url, timeout=5) as fake:
                fake.post("/_fake/reset").raise_for_status()
                fake.post("/_fake/config", json={"log_requests": False, **config}).raise_for_status()

    @property
    def kiro_chat_url(self) -> str:
        return f"{self.kiro_url}/q/{KIRO_REGION}/generateAssistantResponse"

    def configure_kiro(self, **config: int) -> None:
        """The fake Kiro's generic config (request log off) and one write per frame. Not reset: a reset
        would forget the access tokens the proxy's account and the direct runs hold."""
        with httpx.Client(base_url=self.kiro_url, timeout=5) as fake:
            fake.post("/_fake/config", json={"log_requests": False, **config}).raise_for_status()
            fake.post("/_fake/kiro/config", json={"slice_bytes": -1}).raise_for_status()

    def configure_jimeng(self, **config: int) -> None:
        """Reset the fake jimeng-api (its sessionids answer live, with credits, by default), then apply
        `config` with the request log off."""
        with httpx.Client(base_url=self.jimeng_url, timeout=5) as fake:
            fake.post("/_fake/reset").raise_for_status()
            fake.post("/_fake/config", json={"log_requests": False, **config}).raise_for_status()

    def leases_held(self) -> int:
        """Allocation leases held right now (the proxy releases each one when its attempt ends)."""
        with Redis.from_url(self.infra.redis_url) as redis:
            pattern = f"{self.infra.redis_prefix}:alloc:inflight:*"
            return sum(redis.zcard(key) for key in redis.scan_iter(match=pattern, count=1000))

    def check_alive(self) -> None:
        for proc in self.processes.values():
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.logs()[-4000:]}")


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    log_dir = Path(tempfile.mkdtemp(prefix="poolgate-bench-"))
    processes: dict[str, Process] = {}
    with provision() as infra:
        asyncio.run(create_database(infra))
        try:
            fake_urls = {}
            for which in FAKES:
                name = f"fake_{which}"
                processes[name], port = spawn_listening(
                    name, f"tests.fakes.{which}_upstream", log_dir=log_dir
                )
                fake_urls[which] = f"http://127.0.0.1:{port}"
            processes["bare_relay"], relay_port = spawn_listening(
                "bare_relay", "bench.bare_relay", log_dir=log_dir, args=("--upstream", fake_urls["openai"])
            )
            ports = {name: free_port() for name in SERVICES}
            env = infra.env(
                POOLGATE_PROXY_PORT=str(ports["proxy_service"]),
                POOLGATE_ACCOUNT_SERVICE_PORT=str(ports["account_service"]),
                POOLGATE_REFRESH_WORKER_PORT=str(ports["refresh_worker"]),
                POOLGATE_ACCOUNT_SERVICE_URL=f"http://127.0.0.1:{ports['account_service']}",
                POOLGATE_LOG_LEVEL="WARNING",
                POOLGATE_KIRO_SOCIAL_REFRESH_URL=fake_urls["kiro"] + "/auth/{region}/refreshToken",
                POOLGATE_KIRO_IDC_REFRESH_URL=fake_urls["kiro"] + "/oidc/{region}/token",
                POOLGATE_KIRO_CHAT_URL=fake_urls["kiro"] + "/q/{api_region}/generateAssistantResponse",
                POOLGATE_KIRO_USAGE_URL=fake_urls["kiro"] + "/q/{api_region}/getUsageLimits",
                POOLGATE_JIMENG_API_URL=fake_urls["jimeng"],
            )
            run_cli("migrate", env=env)
            for name in SERVICES:  # started together, waited for one by one
                processes[name] = spawn(name, ["-m", f"services.{name}"], env=env, log_dir=log_dir)
            for name in SERVICES:
                probe = "healthz" if name == "refresh_worker" else "readyz"
                wait_ready(processes[name], f"http://127.0.0.1:{ports[name]}/{probe}")
            keys = {}
            for pool, formats in POOLS.items():
                run_cli("users", "create", f"{USER}-{pool}", env=env)
                keys[pool] = run_cli("keys", "create", "--user", f"{USER}-{pool}", "--name", "bench", env=env)
                if pool == "kiro":
                    _add_kiro_account(f"http://127.0.0.1:{ports['account_service']}", keys[pool])
                elif pool == "jimeng":
                    _add_dreamina_account(f"http://127.0.0.1:{ports['account_service']}", keys[pool])
                elif pool == "alloc":
                    asyncio.run(_add_alloc_accounts(infra, fake_urls, f"{USER}-{pool}", formats))
                else:  # as the README says, with the settings a user gets
                    for fmt in formats:
                        run_cli("accounts", "add-custom", "--user", f"{USER}-{pool}", "--format", fmt,
                                "--api-base", _bases(fake_urls)[fmt], "--api-key", f"sk-bench-{fmt}",
                                env=env)  # fmt: skip
            yield Stack(
                log_dir=log_dir,
                proxy_url=f"http://127.0.0.1:{ports['proxy_service']}",
                relay_url=f"http://127.0.0.1:{relay_port}",
                openai_url=fake_urls["openai"],
                anthropic_url=fake_urls["anthropic"],
                kiro_url=fake_urls["kiro"],
                kiro_token=_mint_kiro_token(fake_urls["kiro"]),
                jimeng_url=fake_urls["jimeng"],
                account_service_url=f"http://127.0.0.1:{ports['account_service']}",
                keys=keys,
                processes=processes,
                infra=infra,
            )
        finally:
            for proc in reversed(processes.values()):
                proc.stop()
            asyncio.run(teardown(infra))


def _bases(fake_urls: dict[str, str]) -> dict[str, str]:
    return {"openai": f"{fake_urls['openai']}/v1", "claude": fake_urls["anthropic"]}


async def _add_alloc_accounts(
    infra: Infra, fake_urls: dict[str, str], user: str, formats: tuple[str, ...]
) -> None:
    """The allocation bench's accounts, added by the function `poolgate accounts add-custom` runs (its
    event goes through the outbox the same way) with the largest cap, because that bench reserves
    leases it never releases (it measures the allocation hop alone)."""
    from services.account_service import db
    from services.account_service.accounts.service import add_custom, parse_custom
    from shared.crypto import SecretBox
    from shared.settings import DEV_SECRET_KEY

    box = SecretBox(os.environ.get("POOLGATE_SECRET_KEYS", DEV_SECRET_KEY))
    conn = await db.connect(infra.database_url)
    try:
        for fmt in formats:
            base = _bases(fake_urls)[fmt]
            spec = parse_custom(
                {
                    "name": f"bench-{fmt}",
                    "api_base": base,
                    "api_key": f"sk-bench-{fmt}",
                    "format": fmt,
                    "max_concurrency": ALLOC_CONCURRENCY,
                }
            )
            async with conn.transaction():
                await add_custom(conn, box, username=user, spec=spec, allow_private_upstreams=True)
    finally:
        await conn.close()


def _add_kiro_account(account_service_url: str, key: str) -> None:
    """One Kiro account, created the way a user does (the management API with the user's own key). It
    becomes active once refresh_worker has refreshed its token at the fake Kiro's auth host."""
    headers = {"Authorization": f"Bearer {key}"}
    body = {"refresh_token": f"rt-bench-{os.urandom(8).hex()}", "region": KIRO_REGION, "name": "bench-kiro"}
    with httpx.Client(base_url=account_service_url, headers=headers, timeout=10) as client:
        created = client.post("/api/v1/accounts/kiro", json=body)
        if created.status_code != 201:
            raise RuntimeError(f"creating the Kiro account answered {created.status_code}: {created.text}")
        account_id, deadline = created.json()["id"], time.monotonic() + 30
        while (status := client.get(f"/api/v1/accounts/{account_id}").json()["status"]) != "active":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Kiro account is still {status!r} after 30 s (refresh_worker logs)")
            time.sleep(0.2)


def _add_dreamina_account(account_service_url: str, key: str) -> None:
    """One Dreamina account with a sessionid (active at once), created the way a user does."""
    body = {
        "email": "bench@example.com",
        "region": JIMENG_REGION,
        "sessionid": JIMENG_SESSIONID,
        "name": "bench-dreamina",
    }
    with httpx.Client(base_url=account_service_url, timeout=10) as client:
        created = client.post(
            "/api/v1/accounts/dreamina", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        if created.status_code != 201:
            raise RuntimeError(
                f"creating the Dreamina account answered {created.status_code}: {created.text}"
            )


def _mint_kiro_token(kiro_url: str) -> str:
    with httpx.Client(base_url=kiro_url, timeout=5) as fake:
        response = fake.post(
            "/_fake/kiro/access-tokens", json={"lineage": "bench-direct", "region": KIRO_REGION}
        )
        response.raise_for_status()
        return response.json()["access_token"]
