"""The attempt loop shared by both client routes.

allocate → call the upstream (`call.py`) → answer. Allocation first asks for accounts of the client's
own format (pass-through is cheaper and faithful) together with Kiro accounts (the pool's native
Claude accounts, converted either way), and only when none is left for any format.
On a failure before any byte reached the client (connect error, timeout, 429, 5xx, a refused
credential), another account is tried, excluding the ones tried; when none is left, the tried ones
are tried again after a backoff (`backoff.py`). Streaming calls are answered through a
`KeepAliveStream`, which pings the client while this goes on. Every attempt publishes exactly one
`usage.recorded`, which also releases its lease.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from services.proxy_service import metrics
from services.proxy_service.formats import ClientFormat
from services.proxy_service.relay.attempt import Attempt, Failure
from services.proxy_service.relay.backoff import Backoff, RetryPolicy
from services.proxy_service.relay.call import call_upstream
from services.proxy_service.relay.keepalive import KeepAliveStream
from services.proxy_service.relay.request import ClientRequest, read_client_request
from services.proxy_service.responses import error_response
from services.proxy_service.upstreams import UPSTREAM_FORMATS
from services.proxy_service.upstreams.kiro.target import DEFAULT_CHAT_URL as KIRO_CHAT_URL
from services.proxy_service.usage import UsagePublisher
from shared.errors import NoAccountAvailable, PoolGateError
from shared.internal_client import Allocation, InternalClient
from shared.logging import get_correlation_id, get_logger

log = get_logger(__name__)


class Relay:
    def __init__(
        self,
        *,
        internal: InternalClient,
        session: aiohttp.ClientSession,
        usage: UsagePublisher,
        first_byte_timeout_s: float,
        max_attempts: int,
        retry: RetryPolicy | None = None,
        ping_after_s: float = 5.0,
        ping_interval_s: float = 10.0,
        kiro_chat_url: str = KIRO_CHAT_URL,
    ) -> None:
        self._internal = internal
        self._session = session
        self._usage = usage
        self._first_byte_timeout_s = first_byte_timeout_s
        self._max_attempts = max(1, max_attempts)  # accounts tried between two backoff waits
        self._retry = retry or RetryPolicy()
        self._ping_after_s = ping_after_s
        self._ping_interval_s = ping_interval_s
        self._kiro_chat_url = kiro_chat_url

    async def handle(self, request: Request, fmt: ClientFormat) -> Response:
        started = perf_counter()
        try:
            req = await read_client_request(request, fmt)
        except PoolGateError as err:
            response = error_response(err, fmt.error_style)
        except Exception:
            log.exception("proxy.unhandled_error", route=fmt.route)
            response = error_response(PoolGateError("internal error"), fmt.error_style)
        else:
            if req.stream:  # counts its own status, which it may only know once pings began
                return KeepAliveStream(
                    self._answer(req, fmt, started),
                    fmt=fmt,
                    after_s=self._ping_after_s,
                    interval_s=self._ping_interval_s,
                )
            response = await self._answer(req, fmt, started)
        metrics.count_request(fmt.route, response.status_code)
        return response

    async def _answer(self, req: ClientRequest, fmt: ClientFormat, started: float) -> Response:
        try:
            return await self._forward(req, fmt, started)
        except PoolGateError as err:
            return error_response(err, fmt.error_style)
        except Exception:
            log.exception("proxy.unhandled_error", route=fmt.route)
            return error_response(PoolGateError("internal error"), fmt.error_style)

    async def _forward(self, req: ClientRequest, fmt: ClientFormat, started: float) -> Response:
        exclude: list[str] = []
        failure: Failure | None = None
        backoff = Backoff(self._retry)
        attempts = 0  # since the last backoff wait
        upstream_s = 0.0  # time spent on upstreams and waits: not part of the added-time metric
        correlation_id = get_correlation_id()
        while attempts < self._max_attempts:
            try:
                allocation = await self._allocate(req, fmt, exclude)
            except NoAccountAvailable as refusal:
                if failure is None:
                    raise
                delay = backoff.delay(
                    outcome=failure.outcome,
                    upstream_retry_after=failure.retry_after_s,
                    refusal_retry_after=refusal.retry_after,
                )
                if delay is None:
                    break
                log.info(
                    "proxy.upstream_backoff",
                    seconds=round(delay, 3),
                    retries=backoff.retries,
                    rewaits=backoff.rewaits,
                    status=failure.status,
                )
                await asyncio.sleep(delay)
                upstream_s += delay
                exclude.clear()  # the accounts already tried may serve again
                attempts = 0
                continue
            attempts += 1
            backoff.attempted()
            attempt = Attempt(allocation, req, self._usage, perf_counter())
            result, waited = await call_upstream(
                self._session,
                attempt,
                req,
                fmt,
                correlation_id=correlation_id,
                first_byte_timeout_s=self._first_byte_timeout_s,
                kiro_chat_url=self._kiro_chat_url,
            )
            upstream_s += waited
            if not isinstance(result, Failure):
                metrics.ADDED_SECONDS.observe(perf_counter() - started - upstream_s)
                return result
            failure = result
            exclude.append(allocation.account_id)

        assert failure is not None  # at least one attempt ran, or allocation raised
        log.warning("proxy.upstream_gave_up", retries=backoff.retries, status=failure.status)
        metrics.ADDED_SECONDS.observe(perf_counter() - started - upstream_s)
        return failure.response(fmt)

    async def _allocate(self, req: ClientRequest, fmt: ClientFormat, exclude: list[str]) -> Allocation:
        """An account of the client's own format or a Kiro account if one is left, else any."""
        try:
            return await self._internal.allocate(
                api_key=req.api_key,
                capability="chat",
                model=req.model,
                formats=[fmt.name, "kiro"],
                exclude=exclude,
            )
        except NoAccountAvailable:
            return await self._internal.allocate(
                api_key=req.api_key,
                capability="chat",
                model=req.model,
                formats=list(UPSTREAM_FORMATS),
                exclude=exclude,
            )
