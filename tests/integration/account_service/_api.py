"""Support for the management API tests: account_service in-process (TestClient runs its lifespan, so
it talks to the real PostgreSQL, Redis and RabbitMQ), on a database of its own per test module, with a
first admin made through the service functions, and a tap on the run's exchange to see the events.

The `api` fixture (conftest.py) gives each test module its own service and database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from services.account_service.keys.service import create_key
from services.account_service.sweeper.service import Sweeper
from services.account_service.users.service import create_user
from shared.messages.topology import declare_exchange
from tests.support.infra import Infra

# The schemathesis test's one-line tally, shown in the terminal summary (conftest.py).
SCHEMATHESIS_SUMMARY = pytest.StashKey[str]()


async def bootstrap_admin(dsn: str, username: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await create_user(conn, username=username, is_admin=True)
            _, plaintext = await create_key(conn, username=username, name="bootstrap")
        return plaintext
    finally:
        await conn.close()


async def drop_database(infra: Infra, name: str) -> None:
    conn = await asyncpg.connect(f"{infra.postgres_url}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class EventTap:
    """An exclusive queue bound to every routing key of the run's exchange."""

    api: Api
    queue: Any = None
    connection: Any = None
    seen: list[dict] = field(default_factory=list)

    async def _open(self) -> None:
        self.connection = await aio_pika.connect(self.api.infra.amqp_url)
        channel = await self.connection.channel()
        exchange = await declare_exchange(channel, self.api.infra.exchange)
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(exchange, routing_key="#")

    async def _drain(self) -> None:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            self.seen.append(orjson.loads(message.body) | {"raw": message.body.decode()})

    def wait_for(self, predicate: Callable[[list[dict]], bool], timeout_s: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while True:
            self.api.client.portal.call(self._drain)
            if predicate(self.seen):
                return self.seen
            if time.monotonic() > deadline:
                raise AssertionError(f"events not seen in {timeout_s}s: {[e['type'] for e in self.seen]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.api.client.portal.call(self.connection.close)


@dataclass
class Api:
    client: TestClient
    infra: Infra
    database_url: str
    admin_key: str

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, f"/api/v1{path}", headers=self.auth(key), **kwargs)

    def new_user(self, *, is_admin: bool = False) -> tuple[dict, str]:
        """A fresh user (made by the admin through the API) and a key of theirs."""
        username = f"u-{uuid.uuid4().hex[:8]}"
        user = self.call("POST", "/users", self.admin_key, json={"username": username, "is_admin": is_admin})
        assert user.status_code == 201, user.text
        key = self.call("POST", "/keys", self.admin_key, params={"user": username}, json={"name": "test"})
        assert key.status_code == 201, key.text
        return user.json(), key.json()["key"]

    def sweeper(self, **kwargs: Any) -> Sweeper:
        """A sweeper on the service's own pool and Redis, with a lock and state of its own."""
        state = self.client.app.state
        return Sweeper(
            pool=state.pool,
            dsn=self.database_url,
            redis=state.redis,
            prefix=f"{self.infra.redis_prefix}:sweep-test:{uuid.uuid4().hex[:6]}",
            **kwargs,
        )

    def fetchval(self, sql: str, *args: Any) -> Any:
        return self.client.portal.call(self.client.app.state.pool.fetchval, sql, *args)

    def tap(self) -> EventTap:
        tap = EventTap(self)
        self.client.portal.call(tap._open)
        return tap
