"""refresh_worker: a long-running consumer process; HTTP only for /healthz and /metrics.

`create_app()` and the lifespan that opens and closes every connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import FastAPI

from services.refresh_worker import consumers, metrics
from services.refresh_worker.dreamina.browser import LoginPageSettings, PlaywrightLogin
from services.refresh_worker.dreamina.jimeng import Jimeng
from services.refresh_worker.dreamina.login import Login, LoginDriver
from services.refresh_worker.dreamina.revalidation import DreaminaRevalidator
from services.refresh_worker.dreamina.slots import BrowserSlots
from services.refresh_worker.egress import ProxiedClients
from services.refresh_worker.kiro_refresh import KiroRefresher
from services.refresh_worker.probes.runner import Prober
from services.refresh_worker.settings import RefreshWorkerSettings, get_settings
from services.refresh_worker.upstream_client import upstream_client
from shared.internal_client import InternalClient
from shared.logging import configure_logging, get_logger
from shared.messages import AckPolicy, Broker
from shared.observability import health_router

log = get_logger(__name__)


def auth_client(timeout_s: float, proxy: str | None = None) -> httpx.AsyncClient:
    """The client for the auth hosts (through `proxy`, an account's egress proxy, when given). It
    keeps no cookies: a cookie one account's refresh answer sets (a load balancer's, say) would
    otherwise go with every other account's refresh at that host, and mark them all as one client."""
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, cookies=no_cookies, proxy=proxy)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: RefreshWorkerSettings = app.state.settings
    async with AsyncExitStack() as stack:  # closes in reverse order, also when a later step fails
        redis = settings.redis()
        stack.push_async_callback(redis.aclose)
        internal = InternalClient(
            settings.account_service_url, settings.service_token.get_secret_value(), pool_size=16
        )
        await internal.start()
        stack.push_async_callback(internal.close)
        # One client per process for the auth hosts; each call sets its own timeout.
        http = auth_client(settings.kiro_refresh_timeout_s)
        stack.push_async_callback(http.aclose)
        # Before the broker: closed after it stopped consuming, so no running login loses its browser.
        login_driver = app.state.login_driver or _login_driver(settings, stack)
        broker = Broker(
            amqp_url=settings.amqp_url,
            exchange=settings.events_exchange,
            queue_prefix=settings.queue_prefix,
            producer="refresh_worker",
            drain_timeout_s=settings.consumer_drain_timeout_s,
            redis=redis,
            redis_prefix=settings.redis_prefix,
        )
        stack.push_async_callback(broker.close)  # stops consuming before the clients it uses close
        await broker.connect()
        proxied = ProxiedClients(lambda proxy: auth_client(settings.kiro_refresh_timeout_s, proxy))
        stack.push_async_callback(proxied.close)
        refresher = KiroRefresher(
            settings=settings,
            internal=internal,
            http=http,
            redis=redis,
            publish=broker.publish,
            proxied=proxied,
        )
        accounts = consumers.AccountConsumer(refresher)
        policy = AckPolicy(max_attempts=settings.max_attempts, retry_delay_ms=settings.retry_delay_ms)
        await broker.consume(
            consumers.ACCOUNTS_QUEUE,
            consumers.ACCOUNTS_BINDINGS,
            accounts.on_event,
            policy=policy,
            prefetch=settings.prefetch,
            on_dead_letter=accounts.on_dead_letter,
        )
        jimeng = Jimeng(http, base_url=settings.jimeng_api_url, timeout_s=settings.jimeng_timeout_s)
        dreamina = consumers.DreaminaConsumer(
            DreaminaRevalidator(
                settings=settings,
                internal=internal,
                jimeng=jimeng,
                login=Login(
                    login_driver,
                    BrowserSlots(
                        redis,
                        settings.redis_key("refresh_worker", "browser_slots"),
                        limit=settings.login_concurrency,
                        hold_s=settings.login_timeout_s + 30,
                        wait_s=settings.login_slot_wait_s,
                    ),
                    backoff_s=settings.login_backoff_s,
                ),
                redis=redis,
                publish=broker.publish,
            )
        )
        # Several consumers of one queue (each handles one trigger at a time): a login's tens of
        # seconds hold up only its own consumer.
        for _ in range(settings.dreamina_consumers):
            await broker.consume(
                consumers.DREAMINA_QUEUE,
                consumers.DREAMINA_BINDINGS,
                dreamina.on_event,
                policy=policy,
                prefetch=1,
                on_dead_letter=dreamina.on_dead_letter,
            )
        # Probes on their own queue: Kiro's and Dreamina's on the clients their refreshes and
        # revalidations use; a custom API account's on the guarded client for user-given upstreams;
        # an account behind an egress proxy through it.
        upstreams = upstream_client(allow_private=settings.allow_private_upstreams)
        stack.push_async_callback(upstreams.aclose)
        prober = Prober(
            settings=settings,
            internal=internal,
            http=http,
            upstreams=upstreams,
            jimeng=jimeng,
            proxied=proxied,
        )
        probes = consumers.ProbeConsumer(prober)
        for _ in range(settings.probe_consumers):
            await broker.consume(
                consumers.PROBE_QUEUE, consumers.PROBE_BINDINGS, probes.on_event, policy=policy, prefetch=4
            )
        app.state.redis, app.state.broker = redis, broker
        app.state.readings = metrics.readings(broker)
        log.info("refresh_worker.started", port=settings.refresh_worker_port)
        yield


def _login_driver(settings: RefreshWorkerSettings, stack: AsyncExitStack) -> LoginDriver:
    driver = PlaywrightLogin(
        LoginPageSettings(
            url=settings.dreamina_login_url,
            executable=settings.browser_executable,
            page_timeout_s=settings.login_page_timeout_s,
            step_timeout_s=settings.login_step_timeout_s,
            cookie_wait_s=settings.login_cookie_wait_s,
            timeout_s=settings.login_timeout_s,
        )
    )
    stack.push_async_callback(driver.close)
    return driver


def _checks(app: FastAPI):
    async def rabbitmq():
        if not app.state.broker.is_connected:
            raise ConnectionError("not connected")

    async def redis():
        await app.state.redis.ping()

    return {"rabbitmq": rabbitmq, "redis": redis}


def create_app(
    settings: RefreshWorkerSettings | None = None, *, login_driver: LoginDriver | None = None
) -> FastAPI:
    """`login_driver`: what logs Dreamina accounts in (default: Playwright driving Chromium)."""
    settings = settings or get_settings()
    configure_logging(service="refresh_worker", level=settings.log_level, json=settings.log_json)
    app = FastAPI(title="PoolGate refresh_worker", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.login_driver = login_driver
    app.state.readings = ()  # the queues' depth, once the lifespan connected to RabbitMQ
    app.include_router(health_router(lambda: _checks(app), readings=lambda: app.state.readings))
    return app
