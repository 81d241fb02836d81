"""One upstream call: build it for the allocated account, send it, and read what came back.

The answer is the client's response (a relayed stream after a 2xx, a complete body otherwise), or a
retryable `Failure` that another account (or the same one, later) may do better on.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

import aiohttp
import orjson
from starlette.responses import Response

from services.proxy_service import metrics
from services.proxy_service.formats import ClientFormat, FailedAnswer, UnsupportedConversion
from services.proxy_service.formats.usage import usage_from_json
from services.proxy_service.relay.attempt import Attempt, Failure
from services.proxy_service.relay.outcome import (
    RETRYABLE_EXCEPTIONS,
    answer_outcome,
    exception_error,
    exception_outcome,
    parse_retry_after,
)
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.relay.stream import RelayStream
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse
from services.proxy_service.upstreams import UnsupportedUpstream, build_bridge, build_target
from shared.errors import UpstreamError
from shared.logging import get_logger

log = get_logger(__name__)

_USAGE = b'"usage"'


async def call_upstream(
    session: aiohttp.ClientSession,
    attempt: Attempt,
    req: ClientRequest,
    fmt: ClientFormat,
    *,
    correlation_id: str | None,
    first_byte_timeout_s: float,
    kiro_chat_url: str,
) -> tuple[Response | Failure, float]:
    """The final response, or a retryable `Failure`; plus the time spent waiting on the upstream."""
    allocation = attempt.allocation
    try:
        bridge = build_bridge(fmt, allocation, client_model=req.model)
        target = build_target(
            allocation,
            anthropic_version=req.anthropic_version,
            anthropic_beta=req.anthropic_beta,
            query=req.query,
            correlation_id=correlation_id,
            kiro_chat_url=kiro_chat_url,
        )
        body = bridge.request_body(req.raw, req.body)
    except (UnsupportedConversion, UnsupportedUpstream) as exc:
        log.warning("proxy.upstream_unsupported", account_id=allocation.account_id, reason=str(exc))
        attempt.record("upstream_error", None, perf_counter())
        # No outcome: asking this account again later would not help.
        return Failure(error=UpstreamError("no usable upstream for this request")), 0.0

    sent = perf_counter()
    status: int | None = None
    try:
        async with asyncio.timeout(first_byte_timeout_s):
            resp = await session.post(target.url, data=body, headers=target.headers, allow_redirects=False)
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
        return Failure(error=exception_error(exc), outcome=outcome), now - sent
    except asyncio.CancelledError:
        attempt.record("cancelled", status, perf_counter())
        raise
    now = perf_counter()
    outcome, retryable = answer_outcome(status, data)
    headers = resp.headers
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
            outcome, retryable = answer_outcome(status, data)
        else:
            input_tokens, output_tokens = bridge.usage or usage_from_json(parsed)
            attempt.record(outcome, status, now, input_tokens=input_tokens, output_tokens=output_tokens)
            keep_type = content_type and not bridge.rewrites  # a rewritten answer is JSON
            out = [(b"content-type", content_type.encode("latin-1")) if keep_type else JSON_CONTENT_TYPE]
            encoding = headers.get("content-encoding")
            if encoding and not bridge.rewrites:
                out.append((b"content-encoding", encoding.encode("latin-1")))
            return RawResponse(answer, status, out), now - sent

    retry_after_s = parse_retry_after(headers)
    attempt.record(outcome, status, now, retry_after=retry_after_s)
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
