"""refresh_worker's lifespan against the real Redis and RabbitMQ."""

from __future__ import annotations

import contextlib
import sys

import httpx
import pytest
from redis.asyncio import Redis

from services.refresh_worker import app as app_module
from services.refresh_worker.app import create_app, lifespan
from services.refresh_worker.settings import RefreshWorkerSettings
from shared.internal_client import InternalClient
from shared.messages import Broker
from shared.settings import BaseServiceSettings


async def test_a_failed_last_startup_step_closes_everything_opened_before(infra, monkeypatch):
    redis_closed: list[Redis] = []
    brokers: list[Broker] = []
    internals: list[InternalClient] = []
    https: list[httpx.AsyncClient] = []

    class RecordedRedis(Redis):
        async def aclose(self, *args, **kwargs) -> None:
            redis_closed.append(self)
            await super().aclose(*args, **kwargs)

    class RecordedBroker(Broker):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            brokers.append(self)

        async def consume(self, *args, **kwargs) -> None:
            raise RuntimeError("the consumer could not start")

    class RecordedInternal(InternalClient):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            internals.append(self)

    class RecordedHttpx(httpx.AsyncClient):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            https.append(self)

    monkeypatch.setattr(BaseServiceSettings, "redis", lambda self: RecordedRedis.from_url(self.redis_url))
    monkeypatch.setattr(app_module, "Broker", RecordedBroker)
    monkeypatch.setattr(app_module, "InternalClient", RecordedInternal)
    monkeypatch.setattr(app_module.httpx, "AsyncClient", RecordedHttpx)
    env = infra.env(POOLGATE_LOG_JSON="false", POOLGATE_LOG_LEVEL="WARNING")
    settings = RefreshWorkerSettings(**{k.removeprefix("POOLGATE_").lower(): v for k, v in env.items()})
    with contextlib.redirect_stderr(sys.__stderr__):  # logging keeps the stream current at set-up
        app = create_app(settings)

    with pytest.raises(RuntimeError, match="consumer could not start"):
        async with lifespan(app):
            pass

    [broker], [internal], [http] = brokers, internals, https
    assert len(redis_closed) == 1, "the Redis client was closed"
    assert broker.connection is not None and broker.connection.is_closed, "the AMQP connection was closed"
    assert internal._session is not None and internal._session.closed, "the internal API client was closed"
    assert http.is_closed, "the auth hosts' HTTP client was closed"
