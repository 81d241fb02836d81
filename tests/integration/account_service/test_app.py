"""account_service's lifespan against the real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import contextlib
import sys
import uuid

import asyncpg
import pytest
from redis.asyncio import Redis

from services.account_service import app as app_module
from services.account_service import db
from services.account_service.app import create_app, lifespan
from services.account_service.settings import AccountServiceSettings
from shared.messages import Broker
from shared.settings import BaseServiceSettings
from tests.integration.account_service._api import drop_database
from tests.support.infra import Infra


class _Opened:
    """Records what the lifespan opened, so the test can see it closed again."""

    def __init__(self) -> None:
        self.pools: list[asyncpg.Pool] = []
        self.redis: list[Redis] = []
        self.redis_closed: list[Redis] = []
        self.brokers: list[Broker] = []
        self.relays: list = []


@pytest.fixture
async def database(infra: Infra):
    name = f"{infra.database}_lifespan_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(f"{infra.postgres_url}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield f"{infra.postgres_url}/{name}"
    await drop_database(infra, name)


def _spy(monkeypatch: pytest.MonkeyPatch) -> _Opened:
    opened = _Opened()
    create_pool = db.create_pool

    async def recorded_pool(*args, **kwargs):
        pool = await create_pool(*args, **kwargs)
        opened.pools.append(pool)
        return pool

    class RecordedRedis(Redis):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            opened.redis.append(self)

        async def aclose(self, *args, **kwargs) -> None:
            opened.redis_closed.append(self)
            await super().aclose(*args, **kwargs)

    class RecordedBroker(Broker):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            opened.brokers.append(self)

        async def consume_batches(self, *args, **kwargs) -> None:
            raise RuntimeError("the usage consumer could not start")

    class RecordedRelay(app_module.OutboxRelay):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            opened.relays.append(self)

    monkeypatch.setattr(db, "create_pool", recorded_pool)
    monkeypatch.setattr(BaseServiceSettings, "redis", lambda self: RecordedRedis.from_url(self.redis_url))
    monkeypatch.setattr(app_module, "Broker", RecordedBroker)
    monkeypatch.setattr(app_module, "OutboxRelay", RecordedRelay)
    return opened


async def test_a_failed_last_startup_step_closes_everything_opened_before(infra, database, monkeypatch):
    opened = _spy(monkeypatch)
    env = infra.env(POOLGATE_DATABASE_URL=database, POOLGATE_LOG_JSON="false", POOLGATE_LOG_LEVEL="WARNING")
    settings = AccountServiceSettings(
        **{k.removeprefix("POOLGATE_").lower(): v for k, v in env.items()}, migrate_on_start=True
    )
    with contextlib.redirect_stderr(sys.__stderr__):  # logging keeps the stream current at set-up
        app = create_app(settings)

    with pytest.raises(RuntimeError, match="usage consumer"):
        async with lifespan(app):
            pass

    [pool], [redis], [broker], [relay] = opened.pools, opened.redis, opened.brokers, opened.relays
    assert pool.is_closing(), "the PostgreSQL pool was closed"
    assert opened.redis_closed == [redis], "the Redis client was closed"
    assert broker.connection is not None and broker.connection.is_closed, "the AMQP connection was closed"
    assert relay._listener.is_closed(), "the outbox relay's LISTEN connection was closed"
    assert relay._task.done(), "the outbox relay's task was stopped"
