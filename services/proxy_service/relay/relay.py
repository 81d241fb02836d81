"""One client call, from the route to its answer: read it, allocate, attempt, fail over, answer.

Allocation prefers the accounts each upstream kind prefers for the client's format (pass-through
accounts of the client's own format, and the pool's native Claude accounts), and takes one of any
format only when none of those is free, in one round trip. On a failure before any byte reached
the client (connect error, timeout, 429, 5xx, a refused credential), another account is tried,
excluding the ones tried; when none is left, the tried ones are tried again after a backoff
(`backoff.py`). Streaming calls are answered through a `KeepAliveStream`, which pings the client
while this goes on. A client that goes away before its answer began cancels the call, and with it
the upstream attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from time import perf_counter

from starlette.requests import Request
from starlette.responses import Response

from services.proxy_service import metrics
from services.proxy_service.drain import Drain
from services.proxy_service.formats import CLAUDE, OPENAI, ClientFormat
from services.proxy_service.formats.client_format import MEDIA_FORMATS
from services.proxy_service.formats.images import QualityModels
from services.proxy_service.relay.attempt import Attempt, AttemptDeps
from services.proxy_service.relay.backoff import Backoff, RetryPolicy
from services.proxy_service.relay.disconnect import disconnected
from services.proxy_service.relay.keepalive import KeepAliveStream
from services.proxy_service.relay.media_request import MediaReader, MediaRequest
from services.proxy_service.relay.outcome import Failure
from services.proxy_service.relay.request import ClientRequest, read_client_request
from services.proxy_service.responses import RawResponse, error_response
from services.proxy_service.upstreams import Upstream
from shared.errors import NoAccountAvailable, PoolGateError, RateLimited
from shared.internal_client import Allocation, InternalClient
from shared.logging import get_correlation_id, get_logger

log = get_logger(__name__)

# The refusal of a key at its concurrency limit (account_service keys/limits.py): a slot of its own
# may be on its way back in another allocation.
CONCURRENCY_REFUSED = "concurrency_exceeded"
CLIENT_GONE = 499  # nginx's "client closed request": only metrics and logs ever see it


class Relay:
    def __init__(
        self,
        *,
        internal: InternalClient,
        upstreams: Mapping[str, Upstream],
        deps: AttemptDeps,
        max_attempts: int,
        retry: RetryPolicy | None = None,
        ping_after_s: float = 5.0,
        ping_interval_s: float = 10.0,
        media_reader: MediaReader | None = None,
    ) -> None:
        self._internal = internal
        self._drain = deps.drain or Drain()  # the streams' attempts see the same one
        self._upstreams = upstreams
        self._deps = deps
        self._max_attempts = max(1, max_attempts)  # accounts tried between two backoff waits
        self._retry = retry or RetryPolicy()
        self._ping_after_s = ping_after_s
        self._ping_interval_s = ping_interval_s
        self._read_media = media_reader or MediaReader(QualityModels())
        self._in_flight = metrics.InFlight()
        # Per client format: the allocation formats preferred for it, and every one that may serve it
        # (those of the upstream kinds with its capability).
        self._formats: dict[ClientFormat, tuple[list[str], list[str]]] = {}
        for fmt in (OPENAI, CLAUDE, *MEDIA_FORMATS):
            able = [u for u in upstreams.values() if fmt.capability in u.capabilities]
            self._formats[fmt] = (
                [f for u in able for f in u.preferred(fmt)],
                [f for u in able for f in u.formats],
            )

    async def handle(self, request: Request, fmt: ClientFormat) -> Response:
        started = perf_counter()
        if self._drain.refusing:  # shutting down: the client's SDK retries on a live replica
            response = self._drain.refusal(fmt)
            metrics.count_request(fmt.route, fmt.name, response.status_code)
            return response
        in_flight = self._in_flight
        in_flight.count += 1
        kind = metrics.NO_ACCOUNT
        try:
            req = await (self._read_media(request, fmt) if fmt.media else read_client_request(request, fmt))
        except PoolGateError as err:
            response = error_response(err, fmt.error_style)
        else:
            if req.stream:  # counts its own status, known once pings began, and its time in flight
                return KeepAliveStream(
                    self._answer(req, fmt, started),
                    fmt=fmt,
                    after_s=self._ping_after_s,
                    interval_s=self._ping_interval_s,
                    in_flight=in_flight,
                    drain=self._drain,
                )
            response, kind = await self._answer_unless_gone(request, req, fmt, started)
        finally:
            in_flight.count -= 1
        metrics.count_request(fmt.route, fmt.name, response.status_code, kind)
        return response

    async def _answer_unless_gone(
        self, request: Request, req: ClientRequest | MediaRequest, fmt: ClientFormat, started: float
    ) -> tuple[Response, str]:
        """The answer, unless the client leaves first: then the call is cancelled where it is (so it is
        when a shutdown's drain deadline comes first: the client is told with a 503 it may retry)."""
        call = asyncio.current_task()
        assert call is not None
        gone = False

        async def watch() -> None:
            nonlocal gone
            await disconnected(request.receive)
            gone = True
            call.cancel()

        watcher = asyncio.ensure_future(watch())
        drain = self._drain
        drain.hold(call)
        try:
            return await self._answer(req, fmt, started)
        except asyncio.CancelledError:
            if not gone and not drain.ended.is_set():
                raise
            call.uncancel()
            if not gone:
                log.info("proxy.call_drained", route=fmt.route)
                return drain.refusal(fmt), metrics.NO_ACCOUNT
            log.info("proxy.client_gone", route=fmt.route)
            return RawResponse(b"", CLIENT_GONE, []), metrics.NO_ACCOUNT
        finally:
            watcher.cancel()
            drain.let_go(call)

    async def _answer(
        self, req: ClientRequest | MediaRequest, fmt: ClientFormat, started: float
    ) -> tuple[Response, str]:
        """The answer, and the kind of the account that gave it (for the metrics)."""
        try:
            return await self._forward(req, fmt, started)
        except PoolGateError as err:
            return error_response(err, fmt.error_style), metrics.NO_ACCOUNT
        except Exception:
            log.exception("proxy.unhandled_error", route=fmt.route)
            return error_response(PoolGateError("internal error"), fmt.error_style), metrics.NO_ACCOUNT

    async def _forward(
        self, req: ClientRequest | MediaRequest, fmt: ClientFormat, started: float
    ) -> tuple[Response, str]:
        exclude: list[str] = []
        kind = metrics.NO_ACCOUNT
        failure: Failure | None = None
        backoff = Backoff(self._retry)
        attempts = 0  # since the last backoff wait
        upstream_s = 0.0  # time spent on upstreams and waits: not part of the added-time metric
        correlation_id = get_correlation_id()
        while attempts < self._max_attempts:
            try:
                allocation = await self._allocate(req, fmt, exclude, retry=failure is not None)
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
            kind = allocation.account_kind
            upstream = self._upstreams.get(kind)
            if upstream is None:  # an account kind this proxy cannot drive (a newer account_service)
                self._deps.leases.release(allocation.account_id, allocation.lease_id)
                failure = Failure(error=PoolGateError("no usable upstream for this request", status_code=502))
                exclude.append(allocation.account_id)
                continue
            attempt = Attempt(self._deps, allocation, upstream, req, fmt)
            result = await attempt.run(correlation_id)
            upstream_s += attempt.upstream_s
            if not isinstance(result, Failure):
                metrics.observe_added(kind, perf_counter() - started - upstream_s)
                return result, kind
            failure = result
            exclude.append(allocation.account_id)

        assert failure is not None  # at least one attempt ran, or allocation raised
        log.warning("proxy.upstream_gave_up", retries=backoff.retries, status=failure.status)
        metrics.observe_added(kind, perf_counter() - started - upstream_s)
        return failure.response(fmt), kind

    async def _allocate(
        self, req: ClientRequest | MediaRequest, fmt: ClientFormat, exclude: list[str], *, retry: bool
    ) -> Allocation:
        """An account of a format preferred for this client if one is free, else of any format, in
        one round trip. It carries the leases this proxy released since the last allocation took
        some: they are released before the pick. Refused while one of this proxy's releases was on
        its way in another allocation (for want of an account's slot or of the key's), it tries once
        more when that has landed (relay/lease.py). `retry`: the call's first attempt failed, and
        this one is not counted again against the key's limits."""
        try:
            return await self._allocate_once(req, fmt, exclude, retry)
        except (NoAccountAvailable, RateLimited) as refusal:
            if isinstance(refusal, RateLimited) and refusal.code != CONCURRENCY_REFUSED:
                raise
            if not await self._deps.leases.landed():
                raise
        return await self._allocate_once(req, fmt, exclude, retry)

    async def _allocate_once(
        self, req: ClientRequest | MediaRequest, fmt: ClientFormat, exclude: list[str], retry: bool
    ) -> Allocation:
        preferred, every = self._formats[fmt]
        leases = self._deps.leases
        carried = leases.carry()
        session = req.session if isinstance(req, ClientRequest) else None
        asked = asyncio.ensure_future(
            self._internal.allocate(
                api_key=req.api_key,
                capability=fmt.capability,
                model=req.model,
                formats=every,
                prefer=preferred,
                exclude=exclude,
                release=carried,
                retry=retry,
                session=session.key if session is not None else None,
                session_lookup=session is not None and session.lookup,
            )
        )
        asked.add_done_callback(lambda done: leases.carried(carried, applied=_reached(done)))
        sent = perf_counter()
        try:
            # Shielded: an allocation cut off midway (the client left) would strand its lease until
            # the TTL; it completes instead, and its lease is released at once.
            return await asyncio.shield(asked)
        except asyncio.CancelledError:
            asked.add_done_callback(self._release_unused)
            raise
        finally:
            metrics.ALLOCATION_SECONDS.observe(perf_counter() - sent)

    def _release_unused(self, asked: asyncio.Future[Allocation]) -> None:
        if not asked.cancelled() and asked.exception() is None:
            allocation = asked.result()
            self._deps.leases.release(allocation.account_id, allocation.lease_id)


def _reached(asked: asyncio.Future[Allocation]) -> bool:
    """Whether account_service applied what an allocation carried: it did when it answered, with an
    account or with a refusal of the pick (it releases before it picks and checks the key's limits)."""
    if asked.cancelled():
        return False
    error = asked.exception()
    return error is None or isinstance(error, NoAccountAvailable | RateLimited)
