"""The attempt loop shared by both client routes.

allocate (excluding the accounts tried) → build the upstream call → send → answer; on a failure
before any byte reached the client (connect error, timeout, 429, 5xx), try another account. Every
attempt publishes exactly one `usage.recorded`, which also releases its lease.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.proxy_service import metrics
from services.proxy_service.formats import UPSTREAM_FORMATS, ClientFormat, UnsupportedConversion, bridge_for
from services.proxy_service.formats.usage import usage_from_json
from services.proxy_service.relay.attempt import Attempt, Failure
from services.proxy_service.relay.outcome import (
    RETRYABLE_EXCEPTIONS,
    answer_outcome,
    exception_error,
    exception_outcome,
    parse_retry_after,
)
from services.proxy_service.relay.request import ClientRequest, read_client_request
from services.proxy_service.relay.stream import RelayStream
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse, error_response
from services.proxy_service.upstreams import UnsupportedUpstream, build_target
from services.proxy_service.usage import UsagePublisher
from shared.errors import NoAccountAvailable, PoolGateError, UpstreamError
from shared.internal_client import InternalClient
from shared.logging import get_correlation_id, get_logger

log = get_logger(__name__)

_USAGE = b'"usage"'


class Relay:
    def __init__(
        self,
        *,
        internal: InternalClient,
        session: aiohttp.ClientSession,
        usage: UsagePublisher,
        first_byte_timeout_s: float,
        max_attempts: int,
    ) -> None:
        self._internal = internal
        self._session = session
        self._usage = usage
        self._first_byte_timeout_s = first_byte_timeout_s
        self._max_attempts = max(1, max_attempts)

    async def handle(self, request: Request, fmt: ClientFormat) -> Response:
        started = perf_counter()
        try:
            req = await read_client_request(request, fmt)
            response = await self._forward(req, fmt, started)
        except PoolGateError as err:
            response = error_response(err, fmt.error_style)
        except Exception:
            log.exception("proxy.unhandled_error", route=fmt.route)
            response = error_response(PoolGateError("internal error"), fmt.error_style)
        metrics.count_request(fmt.route, response.status_code)
        return response

    async def _forward(self, req: ClientRequest, fmt: ClientFormat, started: float) -> Response:
        exclude: list[str] = []
        formats = list(UPSTREAM_FORMATS)  # either format: the bridge converts
        failure: Failure | None = None
        upstream_s = 0.0  # time spent waiting on upstreams: not part of the added-time metric
        correlation_id = get_correlation_id()
        for _ in range(self._max_attempts):
            try:
                allocation = await self._internal.allocate(
                    api_key=req.api_key, capability="chat", model=req.model, formats=formats, exclude=exclude
                )
            except NoAccountAvailable:
                if failure is None:
                    raise
                break
            attempt = Attempt(allocation, req, self._usage, perf_counter())
            result, waited = await self._attempt(attempt, req, fmt, correlation_id)
            upstream_s += waited
            if not isinstance(result, Failure):
                metrics.ADDED_SECONDS.observe(perf_counter() - started - upstream_s)
                return result
            failure = result
            exclude.append(allocation.account_id)

        assert failure is not None  # at least one attempt ran, or allocation raised
        log.warning("proxy.upstream_gave_up", attempts=len(exclude), status=failure.status)
        metrics.ADDED_SECONDS.observe(perf_counter() - started - upstream_s)
        return failure.response(fmt)

    async def _attempt(
        self, attempt: Attempt, req: ClientRequest, fmt: ClientFormat, correlation_id: str | None
    ) -> tuple[Response | Failure, float]:
        """One upstream call: the final response, or a retryable `Failure`; plus the time spent waiting."""
        allocation = attempt.allocation
        upstream = allocation.upstream
        try:
            bridge = bridge_for(
                fmt,
                upstream.format,
                client_model=req.model,
                upstream_model=upstream.model,
                provider=upstream.provider,
            )
            target = build_target(
                allocation,
                anthropic_version=req.anthropic_version,
                anthropic_beta=req.anthropic_beta,
                query=req.query,
                correlation_id=correlation_id,
            )
        except (UnsupportedConversion, UnsupportedUpstream) as exc:
            log.warning("proxy.upstream_unsupported", account_id=allocation.account_id, reason=str(exc))
            attempt.record("upstream_error", None, perf_counter())
            return Failure(error=UpstreamError("no usable upstream for this request")), 0.0
        body = bridge.request_body(req.raw, req.body)

        sent = perf_counter()
        status: int | None = None
        try:
            async with asyncio.timeout(self._first_byte_timeout_s):
                resp = await self._session.post(
                    target.url, data=body, headers=target.headers, allow_redirects=False
                )
            attempt.first_byte = first_byte = perf_counter()
            metrics.FIRST_BYTE_SECONDS.observe(first_byte - sent)
            status = resp.status
            if req.stream and 200 <= status < 300:
                return RelayStream(resp, fmt=fmt, bridge=bridge, attempt=attempt), first_byte - sent
            try:
                data = await resp.read()
            except BaseException:
                resp.close()
                raise
        except RETRYABLE_EXCEPTIONS as exc:
            now = perf_counter()
            outcome = exception_outcome(exc)
            attempt.record(outcome, status, now)
            _log_failure(allocation.account_id, outcome, status, exc)
            return Failure(error=exception_error(exc)), now - sent
        except asyncio.CancelledError:
            attempt.record("cancelled", status, perf_counter())
            raise
        now = perf_counter()
        outcome, retryable = answer_outcome(status, data)
        headers = resp.headers
        content_type = headers.get("content-type")

        if outcome == "success":
            parsed = None
            if bridge.rewrites or _USAGE in data:
                try:
                    parsed = orjson.loads(data)
                except orjson.JSONDecodeError:
                    parsed = None
            input_tokens, output_tokens = usage_from_json(parsed)
            attempt.record(outcome, status, now, input_tokens=input_tokens, output_tokens=output_tokens)
            out = [(b"content-type", content_type.encode("latin-1")) if content_type else JSON_CONTENT_TYPE]
            encoding = headers.get("content-encoding")
            if encoding:
                out.append((b"content-encoding", encoding.encode("latin-1")))
            return RawResponse(bridge.response_body(data, parsed), status, out), now - sent

        attempt.record(outcome, status, now, retry_after=parse_retry_after(headers))
        failure = Failure(
            status=status,
            body=data,
            content_type=content_type.encode("latin-1") if content_type else None,
            retry_after=headers.get("retry-after"),
            bridge=bridge,
        )
        if retryable or outcome == "credential_rejected":
            _log_failure(allocation.account_id, outcome, status, None)
        if retryable:
            return failure, now - sent
        return failure.response(fmt), now - sent


def _log_failure(account_id: str, outcome: str, status: int | None, exc: BaseException | None) -> None:
    log.info(
        "proxy.upstream_attempt_failed",
        account_id=account_id,
        outcome=outcome,
        status=status,
        error=None if exc is None else exc.__class__.__name__,
    )
