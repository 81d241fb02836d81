"""The Dreamina revalidation harness: account_service as a process on a database of its own, the
refresh worker in-process (its real lifespan, with a spy around the real Playwright login driver),
the fake jimeng-api and the fake Dreamina login page in-process, and a tap on the outcomes the worker
announces. The fake jimeng-api knows sessionids by their bare value, each with its home region, and
takes one it was never told about as dead, as Dreamina does a made-up one."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
from aiohttp.test_utils import TestClient, TestServer

from services.account_service import db
from services.refresh_worker.app import create_app, lifespan
from services.refresh_worker.dreamina.browser import LoginPageSettings, PlaywrightLogin
from services.refresh_worker.dreamina.failures import Session
from services.refresh_worker.settings import RefreshWorkerSettings
from shared.messages import Broker, Envelope
from shared.messages.broker import BATCH_CONTENT_TYPE
from shared.messages.contracts import Event
from shared.messages.topology import declare_exchange
from shared.settings import DEV_SERVICE_TOKEN
from tests.fakes import dreamina_login, jimeng_upstream
from tests.fakes._jimeng_state import JimengState
from tests.integration.account_service._api import bootstrap_admin
from tests.support.infra import Infra, create_database, teardown
from tests.support.processes import free_port, run_cli, spawn, wait_ready

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
PASSWORD = "pw-correct"


class SpyDriver:
    """The real login driver, with a record of every account it was asked to log in."""

    def __init__(self, inner: PlaywrightLogin) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def login(self, email: str, password: str, *, proxy: str | None = None) -> Session:
        self.calls.append(email)
        return await self.inner.login(email, password, proxy=proxy)


@dataclass
class Outcomes:
    """`account.refreshed` / `account.refresh_failed` as the worker announces them."""

    seen: list[Envelope] = field(default_factory=list)

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            batch = message.content_type == BATCH_CONTENT_TYPE
            self.seen.extend(Envelope.many_from_bytes(message.body, batch=batch))

    def of(self, account_id: str, type_: str | None = None) -> list[Envelope]:
        return [
            e
            for e in self.seen
            if e.data.get("account_id") == account_id and (type_ is None or e.type == type_)
        ]


async def until(predicate: Callable[[], Awaitable[Any]], timeout_s: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout_s} s: {what}")
        await asyncio.sleep(0.05)


@dataclass
class Harness:
    infra: Infra
    env: dict[str, str]
    accounts: httpx.AsyncClient
    admin_key: str
    jimeng: TestClient
    page: TestClient
    spy: SpyDriver
    outcomes: Outcomes
    pool: asyncpg.Pool
    broker: Broker
    redis: Any

    # -- account_service ----------------------------------------------------------------------

    async def user(self) -> str:
        """A new user's PoolGate key: allocations for it see only that user's accounts."""
        name = f"dw-{uuid.uuid4().hex[:8]}"
        admin = {"authorization": f"Bearer {self.admin_key}"}
        made = await self.accounts.post("/api/v1/users", headers=admin, json={"username": name})
        assert made.status_code == 201, made.text
        key = await self.accounts.post(
            "/api/v1/keys", headers=admin, params={"user": name}, json={"name": "t"}
        )
        assert key.status_code == 201, key.text
        return key.json()["key"]

    async def add(self, key: str, *, region: str, password: str, sessionid: str | None, **extra) -> dict:
        body = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": password, "region": region}
        if sessionid is not None:
            body["sessionid"] = sessionid
        for name, value in extra.items():
            body[name] = value.isoformat() if isinstance(value, datetime) else value
        answer = await self.accounts.post(
            "/api/v1/accounts/dreamina", headers={"authorization": f"Bearer {key}"}, json=body
        )
        assert answer.status_code == 201, answer.text
        return answer.json() | {"email": body["email"]}

    async def call(self, method: str, path: str, key: str, **kwargs) -> httpx.Response:
        return await self.accounts.request(
            method, f"/api/v1{path}", headers={"authorization": f"Bearer {key}"}, **kwargs
        )

    async def stored(self, account_id: str) -> dict:
        """The credentials read the worker makes (decrypted)."""
        answer = await self.accounts.get(f"/internal/v1/accounts/{account_id}/credentials", headers=SERVICE)
        answer.raise_for_status()
        return answer.json()

    async def row(self, account_id: str) -> asyncpg.Record:
        return await self.pool.fetchrow(
            "SELECT status, status_reason, credential_expires_at, last_check_at, last_check_ok,"
            " last_check_kind, last_check_reason, credits, credits_read_at, quota_source, quota_remaining,"
            " quota_limit FROM accounts WHERE id = $1",
            uuid.UUID(account_id),
        )

    async def allocate_image(self, key: str) -> httpx.Response:
        return await self.accounts.post(
            "/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "capability": "image"}
        )

    async def publish(self, event: Event) -> None:
        await self.broker.publish(event)

    # -- fakes --------------------------------------------------------------------------------

    async def token(self, sessionid: str, *, region: str, live: bool = True, points: int = 0) -> None:
        """A sessionid jimeng-api knows: live only with its own region's prefix (none for cn)."""
        body = {"live": live, "points": points, "region": region}
        answer = await self.jimeng.post(f"/_fake/jimeng/tokens/{sessionid}", json=body)
        assert answer.status == 200, await answer.text()

    async def kill_token(self, sessionid: str) -> None:
        answer = await self.jimeng.post(f"/_fake/jimeng/tokens/{sessionid}", json={"live": False})
        assert answer.status == 200, await answer.text()

    async def script_token_routes(self, sessionid: str, **script: Any) -> None:
        """What /token/check and /token/points answer for this sessionid (e.g. `status=502`) from now on."""
        body = {**script, "routes": "token"}
        answer = await self.jimeng.post(f"/_fake/jimeng/scripts/{sessionid}", json=body)
        assert answer.status == 200, await answer.text()

    async def jimeng_calls(self, path: str) -> list[dict]:
        logged = await (await self.jimeng.get("/_fake/requests")).json()
        return [entry for entry in logged if entry["path"] == path]

    async def login_account(self, email: str, *, sessionid: str, outcome: str = "ok", **extra) -> None:
        """What the fake login page does for this e-mail (with PASSWORD unless `password` is given)."""
        body = {"password": PASSWORD, "sessionid": sessionid, "outcome": outcome, **extra}
        answer = await self.page.put(f"/_fake/dreamina/accounts/{email}", json=body)
        assert answer.status == 200, await answer.text()

    # -- waiting --------------------------------------------------------------------------------

    async def outcome(self, account_id: str, type_: str, count: int = 1, timeout_s: float = 60.0) -> Envelope:
        await until(
            lambda: _ready(len(self.outcomes.of(account_id, type_)) >= count),
            timeout_s=timeout_s,
            what=f"{count} {type_} for {account_id}; seen {[e.type for e in self.outcomes.of(account_id)]}",
        )
        return self.outcomes.of(account_id, type_)[count - 1]


async def _ready(value: Any) -> Any:
    return value


def _settings(env: dict[str, str]) -> RefreshWorkerSettings:
    return RefreshWorkerSettings(**{k.removeprefix("POOLGATE_").lower(): v for k, v in env.items()})


@contextlib.asynccontextmanager
async def running_harness(parent: Infra, log_dir: Path) -> AsyncIterator[Harness]:
    infra = parent.child(f"dreamina{uuid.uuid4().hex[:4]}")
    await create_database(infra)
    account_port = free_port()
    env = infra.env(
        POOLGATE_ACCOUNT_SERVICE_PORT=str(account_port),
        POOLGATE_ACCOUNT_SERVICE_URL=f"http://127.0.0.1:{account_port}",
        POOLGATE_ACCOUNT_SERVICE_WORKERS="1",
        POOLGATE_SWEEP_INTERVAL_S="3600",  # the tests run their own sweeps
        POOLGATE_LOG_JSON="false",
        POOLGATE_LOG_LEVEL="WARNING",
    )
    process = None
    try:
        await asyncio.to_thread(run_cli, "migrate", env=env)
        admin_key = await bootstrap_admin(infra.database_url, f"admin-{uuid.uuid4().hex[:6]}")
        process = spawn("account_service", ["-m", "services.account_service"], env=env, log_dir=log_dir)
        await asyncio.to_thread(wait_ready, process, f"http://127.0.0.1:{account_port}/readyz")
        fake_jimeng = jimeng_upstream.create_app(jimeng=JimengState(unknown_live=False))
        async with (
            TestClient(TestServer(fake_jimeng)) as jimeng,
            TestClient(TestServer(dreamina_login.create_app())) as page,
            httpx.AsyncClient(base_url=env["POOLGATE_ACCOUNT_SERVICE_URL"], timeout=30) as accounts,
        ):
            worker_env = env | {
                "POOLGATE_JIMENG_API_URL": str(jimeng.make_url("")).rstrip("/"),
                "POOLGATE_DREAMINA_LOGIN_URL": str(page.make_url("/ai-tool/home")),
                "POOLGATE_LOGIN_PAGE_TIMEOUT_S": "10",
                "POOLGATE_LOGIN_STEP_TIMEOUT_S": "3",
                "POOLGATE_LOGIN_COOKIE_WAIT_S": "3",
                "POOLGATE_LOGIN_BACKOFF_S": "0.1",
                "POOLGATE_RETRY_DELAY_MS": "300",
                "POOLGATE_MAX_ATTEMPTS": "3",
            }
            settings = _settings(worker_env)
            spy = SpyDriver(
                PlaywrightLogin(
                    LoginPageSettings(
                        url=settings.dreamina_login_url,
                        executable=settings.browser_executable,
                        page_timeout_s=settings.login_page_timeout_s,
                        step_timeout_s=settings.login_step_timeout_s,
                        cookie_wait_s=settings.login_cookie_wait_s,
                        timeout_s=settings.login_timeout_s,
                    )
                )
            )
            with contextlib.redirect_stderr(sys.__stderr__):  # logging keeps the stream current at set-up
                app = create_app(settings, login_driver=spy)
            outcomes = Outcomes()
            connection = await aio_pika.connect(infra.amqp_url)
            pool = await db.create_pool(infra.database_url, min_size=1, max_size=2)
            broker = Broker(
                amqp_url=infra.amqp_url,
                exchange=infra.exchange,
                queue_prefix=infra.queue_prefix,
                producer="test",
            )
            await broker.connect()
            try:
                channel = await connection.channel()
                exchange = await declare_exchange(channel, infra.exchange)
                queue = await channel.declare_queue(exclusive=True, auto_delete=True)
                for key in ("account.refreshed", "account.refresh_failed"):
                    await queue.bind(exchange, routing_key=key)
                await queue.consume(outcomes.on_message)
                async with lifespan(app):
                    yield Harness(
                        infra=infra,
                        env=worker_env,
                        accounts=accounts,
                        admin_key=admin_key,
                        jimeng=jimeng,
                        page=page,
                        spy=spy,
                        outcomes=outcomes,
                        pool=pool,
                        broker=broker,
                        redis=app.state.redis,
                    )
            finally:
                await spy.inner.close()
                await broker.close()
                await pool.close()
                await connection.close()
    finally:
        if process is not None:
            process.stop()
        await teardown(infra)


def now() -> datetime:
    return datetime.now(UTC)
