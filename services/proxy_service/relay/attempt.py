"""One upstream attempt: built for its allocation, sent, read, and finished exactly once.

`Attempt.run()` answers the client's response (a relayed stream after a 2xx, a complete body
otherwise) or a retryable `Failure` that another account (or the same one, later) may do better on.
Whatever happens (success, an upstream error, a timeout, an exception inside the proxy, a client
that leaves), `finish()` runs once: the lease is released and the attempt's `usage.recorded` is
published. A relayed stream takes the attempt over and finishes it when the stream ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import perf_counter

import aiohttp
import orjson
from starlette.responses import Response

from services.proxy_service import metrics
from services.proxy_service.drain import Drain
from services.proxy_service.formats import Bridge, ClientFormat, FailedAnswer, UnsupportedConversion
from services.proxy_service.formats.json_depth import unencodable
from services.proxy_service.formats.token_counts import usage_from_json
from services.proxy_service.relay import quota_headers
from services.proxy_service.relay.lease import Leases
from services.proxy_service.relay.media_request import MediaRequest
from services.proxy_service.relay.outcome import (
    RETRYABLE_EXCEPTIONS,
    Failure,
    answer_outcome,
    exception_error,
    exception_outcome,
    parse_retry_after,
)
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.relay.stream import RelayStream
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse, error_response
from services.proxy_service.upstreams import UnsupportedUpstream, Upstream, UpstreamCall
from services.proxy_service.upstreams.guard import ADDRESS_REFUSED_CODE
from services.proxy_service.usage_publisher import UsagePublisher
from shared.egress import EgressSessions, describe_failure
from shared.error_excerpt import error_excerpt
from shared.errors import PoolGateError, UpstreamError
from shared.internal_client import Allocation
from shared.logging import get_logger
from shared.messages.contracts import UsageRecorded

log = get_logger(__name__)

_USAGE = b'"usage"'


@dataclass(frozen=True, slots=True)
class AttemptDeps:
    """What every attempt of this proxy shares, built once at start."""

    session: aiohttp.ClientSession
    usage: UsagePublisher
    leases: Leases
    first_byte_timeout_s: float
    # For the operator's own configured hosts (`Target.trusted`), which the SSRF guard would refuse
    # on a private network; None: `session` serves them too (no guard, or nothing trusted).
    trusted_session: aiohttp.ClientSession | None = None
    connect_timeout_s: float = 10.0
    drain: Drain | None = None  # a shutdown's deadline ends the streams still running
    # One session per egress proxy (shared/egress.py): a call whose target names one goes through it,
    # and never directly; None: this proxy cannot send through egress proxies (every such call fails).
    egress: EgressSessions | None = None


class Attempt:
    __slots__ = (
        "_deps",
        "_finished",
        "allocation",
        "first_byte",
        "fmt",
        "quota",
        "req",
        "started",
        "upstream",
        "upstream_s",
    )

    def __init__(
        self,
        deps: AttemptDeps,
        allocation: Allocation,
        upstream: Upstream,
        req: ClientRequest | MediaRequest,
        fmt: ClientFormat,
    ) -> None:
        self._deps = deps
        self.allocation = allocation
        self.upstream = upstream
        self.req = req
        self.fmt = fmt
        self.started = perf_counter()
        self.first_byte: float | None = None
        self.upstream_s = 0.0  # waiting on the upstream: not part of the time the proxy adds
        self._finished = False
        self.quota: quota_headers.Quota | None = None  # what the answer's rate-limit headers left
        deps.leases.hold(allocation.account_id, allocation.lease_id)

    async def run(self, correlation_id: str | None) -> Response | Failure:
        try:
            return await self._run(correlation_id)
        except BaseException as exc:
            outcome = "cancelled" if isinstance(exc, asyncio.CancelledError) else "internal_error"
            self.finish(outcome, None)
            raise

    def finish(
        self,
        outcome: str,
        status: int | None,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        retry_after: float | None = None,
        images: int | None = None,
        video_seconds: float | None = None,
        upstream_code: int | None = None,
        error_excerpt: str | None = None,
        egress_error: str | None = None,
    ) -> None:
        """Release the lease and publish this attempt's `usage.recorded` (once; later calls do nothing)."""
        if self._finished:
            return
        self._finished = True
        allocation = self.allocation
        self._deps.leases.release(allocation.account_id, allocation.lease_id)
        ended = perf_counter()
        first_byte = self.first_byte
        quota = self.quota
        # Plain construction: pydantic-core validates these few typed fields faster than
        # model_construct copies them (measured: ~3.5 µs against ~7 µs).
        self._deps.usage.record(
            UsageRecorded(
                lease_id=allocation.lease_id,
                account_id=allocation.account_id,
                api_key_id=allocation.api_key_id,
                user_id=allocation.user_id,
                model=self.req.model,
                capability=self.fmt.capability,
                status_code=status,
                outcome=outcome,
                latency_ms=(ended - self.started) * 1000,
                first_byte_ms=None if first_byte is None else (first_byte - self.started) * 1000,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                retry_after=retry_after,
                stream=self.req.stream,
                images=images,
                video_seconds=video_seconds,
                upstream_code=upstream_code,
                error_excerpt=error_excerpt,
                quota_remaining=None if quota is None else quota[0],
                quota_resets_at=None if quota is None else quota[1],
                egress_proxy_id=allocation.upstream.egress_proxy_id,
                egress_error=egress_error,
            )
        )
        metrics.count_attempt(outcome, allocation.account_kind, allocation.upstream.format)

    def _prepare(self, correlation_id: str | None) -> UpstreamCall | Response | Failure:
        try:
            return self.upstream.prepare(self.allocation, self.req, self.fmt, correlation_id=correlation_id)
        except (UnsupportedConversion, UnsupportedUpstream) as exc:
            log.warning("proxy.upstream_unsupported", account_id=self.allocation.account_id, reason=str(exc))
            self.finish("upstream_error", None)
            # No outcome for the backoff: asking this account again later would not help.
            return Failure(error=UpstreamError("no usable upstream for this request"))
        except PoolGateError as err:  # the request itself cannot be sent (the client's to fix)
            self.finish("client_error", err.status_code)
            return error_response(err, self.fmt.error_style)
        except orjson.JSONEncodeError as exc:  # e.g. nested deeper than a converted body may be
            err = unencodable(self.req.body, exc)
            self.finish("client_error", err.status_code)
            return error_response(err, self.fmt.error_style)

    async def _run(self, correlation_id: str | None) -> Response | Failure:
        call = self._prepare(correlation_id)
        if not isinstance(call, UpstreamCall):
            return call
        sent = perf_counter()
        status: int | None = None
        deps = self._deps
        session = self._session(call)
        limit = call.first_byte_timeout_s or deps.first_byte_timeout_s
        # A call with its own (longer) first-byte limit must not be cut by the session's idle limit,
        # which also bounds the wait for headers.
        options = {} if call.first_byte_timeout_s is None else {"timeout": self._timeout(limit)}
        try:
            async with asyncio.timeout(limit):
                resp = await session.post(
                    call.target.url,
                    data=call.body,
                    headers=call.target.headers,
                    allow_redirects=False,
                    **options,
                )
            self.first_byte = perf_counter()
            self.upstream_s = self.first_byte - sent
            metrics.observe_first_byte(self.allocation.account_kind, self.upstream_s)
            status = resp.status
            if self.upstream.reports_quota:
                self.quota = quota_headers.read(resp.headers)
            if self.req.stream and 200 <= status < 300:
                return RelayStream(resp, bridge=call.bridge, attempt=self, drain=deps.drain)
            try:
                data = await resp.read()
            except BaseException:
                resp.close()
                raise
        except RETRYABLE_EXCEPTIONS as exc:
            self.upstream_s = perf_counter() - sent
            outcome = exception_outcome(exc)
            self.finish(
                outcome, status, egress_error=describe_failure(exc) if outcome == "proxy_error" else None
            )
            self._log_failure(outcome, status, exc)
            error = exception_error(exc)
            # A refused address is recorded as the connect error it is, but no wait makes it reachable:
            # no outcome, so the accounts tried are not tried again after a backoff.
            refused = error.code == ADDRESS_REFUSED_CODE
            return Failure(error=error, outcome=None if refused else outcome)
        self.upstream_s = perf_counter() - sent
        return self._answer(call.bridge, status, data, resp.headers)

    def _session(self, call: UpstreamCall) -> aiohttp.ClientSession:
        deps = self._deps
        if call.target.egress is not None:
            if deps.egress is None:
                raise RuntimeError("an egress proxy is set but this proxy has no egress sessions")
            return deps.egress.get(call.target.egress)
        return deps.trusted_session if call.target.trusted and deps.trusted_session else deps.session

    def _timeout(self, first_byte_s: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=None, sock_connect=self._deps.connect_timeout_s, sock_read=first_byte_s
        )

    def _answer(self, bridge: Bridge, status: int, data: bytes, headers) -> Response | Failure:
        outcome, retryable = answer_outcome(status, data)
        upstream_code = None
        content_type = headers.get("content-type")
        if outcome == "success":
            parsed = None
            if bridge.usage is None and (bridge.rewrites or _USAGE in data):
                try:
                    parsed = orjson.loads(data)
                except orjson.JSONDecodeError:
                    parsed = None
            try:
                answer = bridge.response_body(data, parsed)
            except FailedAnswer as failed:  # a 2xx answer that carried an error: handled as that error
                status, data, content_type = failed.status, failed.raw, None
                outcome, retryable = failed.verdict or answer_outcome(status, data)
                upstream_code = failed.upstream_code
            else:
                input_tokens, output_tokens = bridge.usage or usage_from_json(parsed)
                self.finish(
                    outcome,
                    status,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    **(bridge.produced or {}),
                )
                keep_type = content_type and not bridge.rewrites  # a rewritten answer is JSON
                out = [(b"content-type", content_type.encode("latin-1")) if keep_type else JSON_CONTENT_TYPE]
                encoding = headers.get("content-encoding")
                if encoding and not bridge.rewrites:
                    out.append((b"content-encoding", encoding.encode("latin-1")))
                return RawResponse(answer, status, out)

        retry_after_s = parse_retry_after(headers)
        self.finish(
            outcome,
            status,
            retry_after=retry_after_s,
            upstream_code=upstream_code,
            error_excerpt=error_excerpt(data),  # redacted, at most 512 characters: for error rules
        )
        failure = Failure(
            status=status,
            body=data,
            content_type=content_type.encode("latin-1") if content_type else None,
            retry_after=headers.get("retry-after"),
            retry_after_s=retry_after_s,
            bridge=bridge,
            outcome=outcome,
        )
        if retryable or outcome == "credential_rejected":
            self._log_failure(outcome, status, None)
        return failure if retryable else failure.response(self.fmt)

    def _log_failure(self, outcome: str, status: int | None, exc: BaseException | None) -> None:
        log.info(
            "proxy.upstream_attempt_failed",
            account_id=self.allocation.account_id,
            outcome=outcome,
            status=status,
            error=None if exc is None else exc.__class__.__name__,
            egress_proxy_id=self.allocation.upstream.egress_proxy_id,
        )
