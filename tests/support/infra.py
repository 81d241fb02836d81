"""Real PostgreSQL, Redis and RabbitMQ for a test run, isolated from every other run.

By default the servers already on the machine are used, with a database, a Redis key prefix, an
exchange and queue names of this run's own; `POOLGATE_TEST_CONTAINERS=1` starts them with
testcontainers instead (for machines with a Docker engine).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

# Every durable consumer queue a service declares; teardown deletes them (and their .retry/.dead).
from shared.messages.topology import CONSUMER_QUEUES


@dataclass
class Infra:
    run_id: str
    postgres_url: str  # server URL without a database name
    redis_url: str
    amqp_url: str
    database: str = field(init=False)
    exchange: str = field(init=False)
    queue_prefix: str = field(init=False)
    redis_prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self.database = f"poolgate_test_{self.run_id}"
        self.exchange = f"poolgate.events.test.{self.run_id}"
        self.queue_prefix = f"poolgate-test-{self.run_id}"
        self.redis_prefix = f"poolgate-test-{self.run_id}"

    def child(self, name: str) -> Infra:
        """Resources of their own on the same servers, e.g. for the process stack, whose services
        would otherwise relay and consume what in-process tests write."""
        return Infra(
            run_id=f"{self.run_id}_{name}",
            postgres_url=self.postgres_url,
            redis_url=self.redis_url,
            amqp_url=self.amqp_url,
        )

    @property
    def database_url(self) -> str:
        return f"{self.postgres_url}/{self.database}"

    def env(self, **overrides: str) -> dict[str, str]:
        """POOLGATE_* settings that point a service (or the CLI) at this run's isolated resources."""
        env = {
            "POOLGATE_ENV": "test",
            "POOLGATE_DATABASE_URL": self.database_url,
            "POOLGATE_REDIS_URL": self.redis_url,
            "POOLGATE_AMQP_URL": self.amqp_url,
            "POOLGATE_EVENTS_EXCHANGE": self.exchange,
            "POOLGATE_QUEUE_PREFIX": self.queue_prefix,
            "POOLGATE_REDIS_PREFIX": self.redis_prefix,
            "POOLGATE_ALLOW_PRIVATE_UPSTREAMS": "true",
        }
        env.update(overrides)
        return env


@contextlib.contextmanager
def provision() -> Iterator[Infra]:
    run_id = uuid.uuid4().hex[:10]
    if os.environ.get("POOLGATE_TEST_CONTAINERS") == "1":
        with _containers(run_id) as infra:
            yield infra
    else:
        yield Infra(
            run_id=run_id,
            postgres_url=os.environ.get("POOLGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"),
            redis_url=os.environ.get("POOLGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            amqp_url=os.environ.get("POOLGATE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        )


@contextlib.contextmanager
def _containers(run_id: str) -> Iterator[Infra]:
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer
    from testcontainers.redis import RedisContainer

    with (
        PostgresContainer("postgres:16", username="postgres", password="postgres", dbname="postgres") as pg,
        RedisContainer("redis:7") as redis,
        RabbitMqContainer("rabbitmq:3.13-management") as rabbit,
    ):
        pg_url = f"postgresql://postgres:postgres@{pg.get_container_host_ip()}:{pg.get_exposed_port(5432)}"
        redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
        amqp_url = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
        yield Infra(run_id=run_id, postgres_url=pg_url, redis_url=redis_url, amqp_url=amqp_url)


async def create_database(infra: Infra) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{infra.postgres_url}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{infra.database}"')
    finally:
        await conn.close()


async def teardown(infra: Infra) -> None:
    """Drop everything this run made: database, Redis keys, queues and exchange."""
    import aio_pika
    import asyncpg
    from redis.asyncio import Redis

    conn = await asyncpg.connect(f"{infra.postgres_url}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{infra.database}" WITH (FORCE)')
    finally:
        await conn.close()

    redis = Redis.from_url(infra.redis_url)
    try:
        async for key in redis.scan_iter(match=f"{infra.redis_prefix}:*", count=1000):
            await redis.delete(key)
    finally:
        await redis.aclose()

    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in CONSUMER_QUEUES:
            for suffix in ("", ".retry", ".dead"):
                await channel.queue_delete(f"{infra.queue_prefix}.{name}{suffix}")
        await channel.exchange_delete(infra.exchange)
