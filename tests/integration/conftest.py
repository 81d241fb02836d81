"""Integration fixtures: one service's parts against the real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis

from services.account_service import db
from services.account_service.migrations import migrate
from tests.support.infra import Infra


@pytest.fixture(scope="session")
def migrated(infra: Infra) -> Infra:
    asyncio.run(migrate(infra.database_url))
    return infra


@pytest.fixture
async def pool(migrated: Infra) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(migrated.database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()
