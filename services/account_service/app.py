"""account_service: owns account storage, answers allocations, relays the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from functools import partial

import asyncpg
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from services.account_service import console, db, error_handlers, metrics
from services.account_service.allocation.fallback import FallbackPicker
from services.account_service.allocation.health import Health
from services.account_service.allocation.index import AccountIndex
from services.account_service.allocation.local import LocalPicker
from services.account_service.allocation.picker import Picker
from services.account_service.allocation.service import Allocator
from services.account_service.allocation.unavailable import UnavailableNotice
from services.account_service.api import TAGS as API_TAGS
from services.account_service.api import router as api_router
from services.account_service.events import REPLICA_BINDINGS, ReplicaViews
from services.account_service.internal.channel import channel_server
from services.account_service.internal.endpoints import allocation_route, leases_route, models_route
from services.account_service.internal.endpoints import router as internal_router
from services.account_service.jobs.runner import JobRunner
from services.account_service.keys.limits import tokens_per_day
from services.account_service.keys.store import KeyStore
from services.account_service.keys.tokens import KeyTokens
from services.account_service.migrations import migrate
from services.account_service.outbox.relay import OutboxRelay
from services.account_service.outbox.writer import record
from services.account_service.settings import AccountServiceSettings, get_settings
from services.account_service.sweeper.service import Sweeper
from services.account_service.usage import consumer as usage
from services.account_service.webhooks import alerts
from services.account_service.webhooks.dispatcher import Dispatcher, DispatchSettings
from shared import heap
from shared.crypto import SecretBox
from shared.fast_routes import FastRoutesApp
from shared.logging import CorrelationIdMiddleware, configure_logging, get_logger
from shared.messages import AckPolicy, Broker, Event
from shared.messages.broker import wait_delays
from shared.metrics import sampling
from shared.observability import health_router
from shared.outages import is_unavailable
from shared.responses import JSONResponse

log = get_logger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: AccountServiceSettings = app.state.settings
    async with AsyncExitStack() as stack:  # closes in reverse order, also when a later step fails
        await stack.enter_async_context(sampling())
        if settings.migrate_on_start:
            await migrate(settings.database_url)
        pool = await db.create_pool(settings.database_url, max_size=settings.db_pool_size)
        stack.push_async_callback(pool.close)
        redis = settings.redis()
        stack.push_async_callback(redis.aclose)
        broker = Broker(
            amqp_url=settings.amqp_url,
            exchange=settings.events_exchange,
            queue_prefix=settings.queue_prefix,
            producer="account_service",
            drain_timeout_s=settings.consumer_drain_timeout_s,
            redis=redis,
            redis_prefix=settings.redis_prefix,
        )
        stack.push_async_callback(broker.close)
        await broker.connect()
        box = SecretBox(settings.secret_keys.get_secret_value())
        index = AccountIndex(box, quota_routing=settings.quota_routing)
        keys = KeyStore(pool)
        alloc_prefix = settings.redis_key("alloc")  # the pick script and the health script share these keys
        picker = FallbackPicker(
            Picker(redis, prefix=alloc_prefix, lease_ttl_s=settings.lease_ttl_s),
            LocalPicker(lease_ttl_s=settings.lease_ttl_s),
            ping=redis.ping,
        )
        stack.push_async_callback(picker.close)
        health = Health(redis, prefix=alloc_prefix)
        views = ReplicaViews(pool=pool, index=index, keys=keys, picker=picker)
        # Subscribe before loading, so no change made in between is missed.
        await broker.subscribe_replica(REPLICA_BINDINGS, views.handle)
        await views.load()
        broker.on_reconnect(lambda: reload_views(views))
        relay = OutboxRelay(pool=pool, broker=broker, dsn=settings.database_url)
        stack.push_async_callback(relay.stop)  # also closes its LISTEN connection if start fails
        await relay.start()
        jobs = JobRunner(pool=pool, days=app.state.days, chunk_size=settings.job_chunk_size)
        await jobs.start()
        stack.push_async_callback(jobs.stop)
        sweeper = Sweeper(
            pool=pool,
            dsn=settings.database_url,
            redis=redis,
            prefix=settings.redis_key("sweeper"),
            interval_s=settings.sweep_interval_s,
            daily_check=settings.dreamina_daily_check_time,
            zone=settings.zone,
            usage_retention_days=settings.usage_retention_days,
            probes_per_pass=settings.probes_per_pass,
        )
        await sweeper.start()
        stack.push_async_callback(sweeper.stop)
        await broker.consume_batches(
            usage.QUEUE,
            usage.BINDINGS,
            usage.UsageConsumer(
                pool=pool,
                picker=picker,
                health=health,
                days=app.state.days,
                tokens=KeyTokens(redis, prefix=alloc_prefix),
                tokens_limit=partial(tokens_per_day, keys, settings.key_limit_defaults),
            ).handle,
            policy=AckPolicy(max_attempts=5, retry_delay_ms=2000),
            batch_size=200,
            batch_window_s=0.05,
            idempotent=True,  # its inbox claims each message id in the transaction that counts it
        )
        dispatcher = Dispatcher(pool=pool, box=box, settings=_dispatch_settings(settings))
        await dispatcher.start()
        stack.push_async_callback(dispatcher.stop)
        await broker.consume(
            alerts.QUEUE,
            alerts.BINDINGS,
            alerts.AlertConsumer(pool=pool, wake=dispatcher.wake).handle,
            policy=AckPolicy(max_attempts=5, retry_delay_ms=2000),
        )
        unavailable = UnavailableNotice(
            lambda event: _record_event(pool, event), window_s=settings.pool_unavailable_window_s
        )
        stack.push_async_callback(unavailable.close)
        # Runs first on shutdown: the messages received are handled and acked while the pool, Redis,
        # the picker and the dispatcher they need are still open.
        stack.push_async_callback(broker.stop_consuming)
        app.state.pool, app.state.redis, app.state.broker, app.state.box = pool, redis, broker, box
        app.state.picker, app.state.health, app.state.jobs = picker, health, jobs
        app.state.dispatcher, app.state.unavailable = dispatcher, unavailable
        app.state.allocator = Allocator(
            index=index,
            keys=keys,
            picker=picker,
            public_pool=settings.public_pool,
            unavailable=unavailable,
            limit_defaults=settings.key_limit_defaults,
            days=app.state.days,
            sticky_ttl_s=settings.sticky_ttl_s,
        )
        channel = channel_server(
            app.state,
            token=settings.service_token.get_secret_value(),
            loopback_only=settings.development_service_token,
        )
        app.state.readings = metrics.readings(pool=pool, picker=picker, broker=broker, days=app.state.days)
        channel.listen()  # the proxy's allocations, on this process's HTTP port (shared/channel.py)
        stack.callback(channel.close)
        heap.settle()
        log.info("account_service.started", accounts=len(index), port=settings.account_service_port)
        yield


def _dispatch_settings(settings: AccountServiceSettings) -> DispatchSettings:
    return DispatchSettings(
        timeout_s=settings.webhook_timeout_s,
        max_attempts=settings.webhook_max_attempts,
        backoff_base_s=settings.webhook_backoff_base_s,
        backoff_max_s=settings.webhook_backoff_max_s,
        poll_s=settings.webhook_poll_s,
        log_days=settings.webhook_log_days,
        allow_private=settings.allow_private_upstreams,
    )


async def _record_event(pool: asyncpg.Pool, event: Event) -> None:
    """An event of its own, outside any request (the outbox relays it)."""
    async with pool.acquire() as conn, conn.transaction():
        await record(conn, event)


async def reload_views(views: ReplicaViews) -> None:
    """After the broker connection came back: read the views again, waiting for PostgreSQL if need be."""
    for delay in wait_delays():
        try:
            await views.load()
            return
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("account_service.views_reload_waiting", error=exc.__class__.__name__)
            await asyncio.sleep(delay)


def _readiness_checks(app: FastAPI):
    async def postgres():
        await app.state.pool.fetchval("SELECT 1")

    async def redis():
        await app.state.redis.ping()

    async def rabbitmq():
        if not app.state.broker.is_connected:
            raise ConnectionError("not connected")

    return {"postgresql": postgres, "redis": redis, "rabbitmq": rabbitmq}


def create_app(
    settings: AccountServiceSettings | None = None, *, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """The service; `clock` (what "now" is for daily counts and resets) is for tests."""
    settings = settings or get_settings()
    configure_logging(service="account_service", level=settings.log_level, json=settings.log_json)
    hot_routes = [allocation_route, leases_route, models_route]
    app = FastRoutesApp(
        title="PoolGate account_service",
        version="0.1.0",
        summary="Accounts, users and API keys of a PoolGate gateway; allocation for the proxy",
        description="The management API is under `/api/v1`, authenticated by a PoolGate API key "
        "(`Authorization: Bearer pg-...`); keys of admin users have admin rights. Errors are "
        '`{"error": {"kind", "message", "param"}}` with a 4xx status.',
        openapi_tags=API_TAGS,
        # Prometheus metrics and structlog lines; FastAPI's native OpenTelemetry would only cost
        # provider look-ups on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=lifespan,
        default_response_class=JSONResponse,
        fast_routes=hot_routes,  # answered ahead of the middleware stack (shared/fast_routes.py)
    )
    app.state.settings = settings
    app.state.days = settings.day_boundary(clock) if clock else settings.day_boundary()
    app.state.service_auth = f"Bearer {settings.service_token.get_secret_value()}".encode()
    app.state.internal_loopback_only = settings.development_service_token  # see deps.internal_api_refused
    app.add_middleware(CorrelationIdMiddleware)
    # Console pages, static files and long API lists travel compressed (a 50-row account list: 107
    # KiB of HTML). The allocation routes are answered ahead of the middleware, so they never pay.
    app.add_middleware(GZipMiddleware, minimum_size=1400, compresslevel=5)
    error_handlers.install(app)
    # Allocation is answered from memory (and from in-process state while Redis is away), so no
    # dependency takes account_service out of rotation: /readyz says `degraded` and names it.
    app.state.readings = ()  # scrape-time metrics, once the lifespan opened what they read
    app.include_router(
        health_router(
            lambda: _readiness_checks(app), required=frozenset(), readings=lambda: app.state.readings
        )
    )
    app.router.routes[:0] = hot_routes  # also routed, for other methods (405) and a custom root_path
    app.include_router(internal_router)
    app.include_router(api_router)
    console.install(app)  # the web console at `/` (services/account_service/console)
    return app
