"""The proxy's ASGI app: `create_app()` and the lifespan that opens and closes every connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from services.proxy_service.body_guard import BodyGuard
from services.proxy_service.drain import Drain
from services.proxy_service.formats.images import QualityModels
from services.proxy_service.relay import AttemptDeps, Leases, Relay, RetryPolicy
from services.proxy_service.relay.media_request import MediaReader
from services.proxy_service.responses import error_response, style_for_path
from services.proxy_service.routes import HOT_ROUTES
from services.proxy_service.settings import ProxySettings
from services.proxy_service.upstreams.custom_api import CustomApiUpstream
from services.proxy_service.upstreams.dreamina import DreaminaUpstream
from services.proxy_service.upstreams.guard import guarded_socket
from services.proxy_service.upstreams.kiro import KiroUpstream
from services.proxy_service.usage_publisher import UsagePublisher
from shared import heap
from shared.channel import ChannelClient
from shared.egress import EgressSessions
from shared.errors import (
    InvalidRequest,
    PoolGateError,
    for_http_status,
)
from shared.fast_routes import FastRoutesApp
from shared.internal_client import InternalClient
from shared.logging import CorrelationIdMiddleware, configure_logging, get_logger
from shared.messages import Broker
from shared.metrics import sampling
from shared.observability import health_router

log = get_logger(__name__)

PRODUCER = "proxy_service"
# What the OpenAI and Anthropic SDKs send from a browser (and Starlette always allows the
# CORS-safelisted ones: accept, accept-language, content-language, content-type).
CORS_HEADERS = [
    "authorization",
    "x-api-key",
    "content-type",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "x-correlation-id",
    "x-stainless-arch",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
]


def _connector_options(settings: ProxySettings, *, guarded: bool) -> dict:
    return {
        "limit": settings.upstream_pool_limit,
        "limit_per_host": settings.upstream_pool_limit_per_host,
        "keepalive_timeout": 30,
        "ttl_dns_cache": 300,
        "socket_factory": guarded_socket if guarded and not settings.allow_private_upstreams else None,
    }


def egress_sessions(settings: ProxySettings) -> EgressSessions:
    """One session per egress proxy, made on first use, like the direct one (the proxy's own address
    is held to the SSRF guard; the upstream's name is resolved by the proxy)."""
    return EgressSessions(
        lambda connector: upstream_session(settings, connector=connector),
        **_connector_options(settings, guarded=True),
    )


def upstream_session(
    settings: ProxySettings, *, guarded: bool = True, connector: aiohttp.BaseConnector | None = None
) -> aiohttp.ClientSession:
    """One pooled session for every upstream. Bytes pass through as received (no decompression).

    `sock_read` is the idle limit between two reads; the first-byte limit is applied per call. With
    the defaults (120 s < 300 s) each holds exactly; an idle limit below the first-byte one also
    bounds the wait for headers. Unless private upstreams are allowed, every socket of a `guarded`
    session is checked against the address it connects to (upstreams/guard.py)."""
    if connector is None:
        connector = aiohttp.TCPConnector(**_connector_options(settings, guarded=guarded))
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=settings.connect_timeout_s, sock_read=settings.idle_timeout_s
    )
    # No cookie jar: a cookie one upstream answer sets (a CDN's `__cf_bm`, say) must never travel
    # with another account's or another user's call, and a jar costs a look-up on every request.
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
    )


def allocation_channel(settings: ProxySettings) -> ChannelClient | None:
    """The allocation channel to account_service's HTTP port (shared/channel.py); none when turned
    off or reached over TLS (something in front of it that speaks only HTTP): plain HTTP calls then."""
    url = urlsplit(settings.account_service_url)
    if not settings.allocation_channel or url.scheme != "http" or not url.hostname:
        return None
    return ChannelClient(url.hostname, url.port or 80, token=settings.service_token.get_secret_value())


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: ProxySettings = app.state.settings
    async with AsyncExitStack() as stack:  # closes in reverse order, also when a later step fails
        await stack.enter_async_context(sampling())
        internal = InternalClient(
            settings.account_service_url,
            settings.service_token.get_secret_value(),
            unreachable_wait_s=settings.account_service_wait_s,
            channel=allocation_channel(settings),
        )
        await internal.start()
        stack.push_async_callback(internal.close)
        session = upstream_session(settings)
        stack.push_async_callback(session.close)
        # The operator's own jimeng-api server may be on the private network: its own pool, unguarded.
        trusted_session = None
        if not settings.allow_private_upstreams:
            trusted_session = upstream_session(settings, guarded=False)
            stack.push_async_callback(trusted_session.close)
        egress = egress_sessions(settings)
        stack.push_async_callback(egress.close)
        broker = Broker(
            amqp_url=settings.amqp_url,
            exchange=settings.events_exchange,
            queue_prefix=settings.queue_prefix,
            producer=PRODUCER,
        )
        stack.push_async_callback(broker.close)
        usage = UsagePublisher(
            broker, buffer_size=settings.usage_buffer_size, drain_timeout_s=settings.usage_drain_timeout_s
        )
        await usage.start()  # a missing RabbitMQ is not fatal: events wait in the buffer
        stack.push_async_callback(usage.close)  # drains before the broker closes
        leases = Leases(internal, renew_every_s=settings.lease_renew_s)
        await leases.start()
        stack.push_async_callback(leases.close)  # sends the last releases before the client closes
        drain: Drain = app.state.drain
        stack.callback(drain.install())  # SIGTERM drains first (drain.py)
        stack.push_async_callback(drain.close)

        upstreams = (
            CustomApiUpstream(),
            KiroUpstream(chat_url=settings.kiro_chat_url),
            DreaminaUpstream(
                api_url=settings.jimeng_api_url, first_byte_timeout_s=settings.media_first_byte_timeout_s
            ),
        )
        app.state.internal = internal
        app.state.broker = broker
        app.state.relay = Relay(
            internal=internal,
            upstreams={u.kind: u for u in upstreams},
            deps=AttemptDeps(
                session=session,
                usage=usage,
                leases=leases,
                first_byte_timeout_s=settings.first_byte_timeout_s,
                trusted_session=trusted_session,
                connect_timeout_s=settings.connect_timeout_s,
                drain=drain,
                egress=egress,
            ),
            max_attempts=settings.max_attempts,
            retry=RetryPolicy(
                same_account_retries=settings.same_account_retries,
                base_delay_s=settings.retry_backoff_s,
                max_wait_s=settings.max_retry_wait_s,
            ),
            ping_after_s=settings.ping_after_s,
            ping_interval_s=settings.ping_interval_s,
            media_reader=MediaReader(
                QualityModels(
                    low=settings.image_model_low,
                    medium=settings.image_model_medium,
                    high=settings.image_model_high,
                    auto=settings.image_model_auto,
                )
            ),
        )
        heap.settle()
        log.info("proxy.started", account_service=settings.account_service_url)
        yield
    log.info("proxy.stopped")


def _readiness_checks(app: FastAPI):
    async def account_service() -> None:
        if not await app.state.internal.ready():
            raise ConnectionError("account_service /healthz is not answering 200")

    # RabbitMQ is deliberately not a readiness condition: usage events wait in the bounded buffer
    # while it is away, and taking every proxy out of rotation for that would turn a metering
    # hiccup into an outage. The buffer's size and drops are metrics.
    return {"account_service": account_service}


async def _on_poolgate_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PoolGateError)
    return error_response(exc, style_for_path(request.url.path))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    err = for_http_status(exc.status_code)(str(exc.detail), status_code=exc.status_code)
    response = error_response(err, style_for_path(request.url.path))
    for name, value in (exc.headers or {}).items():
        response.raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return response


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    loc = errors[0].get("loc", ()) if errors else ()
    param = ".".join(str(p) for p in loc[1:]) or None
    message = errors[0].get("msg", "invalid request") if errors else "invalid request"
    return error_response(InvalidRequest(message, param=param), style_for_path(request.url.path))


async def _on_unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("proxy.unhandled_error", path=request.url.path, error=exc.__class__.__name__, exc_info=exc)
    return error_response(PoolGateError("internal error"), style_for_path(request.url.path))


def create_app(settings: ProxySettings | None = None) -> FastAPI:
    app = FastRoutesApp(
        title="PoolGate proxy",
        # PoolGate exports Prometheus metrics and structlog lines; FastAPI's native OpenTelemetry
        # would only cost provider look-ups on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        fast_routes=HOT_ROUTES,  # answered ahead of the middleware stack (shared/fast_routes.py)
    )
    settings = app.state.settings = settings or ProxySettings()
    app.state.drain = Drain(grace_s=settings.proxy_shutdown_grace_s, timeout_s=settings.proxy_drain_timeout_s)
    # Here rather than in __main__ only: with several workers, each process builds its own app.
    configure_logging(service="proxy_service", level=settings.log_level, json=settings.log_json)
    # Outermost last: CORS headers on every answer, a correlation id on the body guard's refusals.
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, timeout_s=settings.client_body_timeout_s)
    app.add_middleware(CorrelationIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=CORS_HEADERS,
            expose_headers=["x-correlation-id", "retry-after"],
            max_age=600,
        )
    app.add_exception_handler(PoolGateError, _on_poolgate_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
    # The hot routes first: routing tries routers in order.
    app.router.routes[:0] = HOT_ROUTES
    app.include_router(
        health_router(lambda: _readiness_checks(app), draining=lambda: app.state.drain.draining)
    )
    return app
