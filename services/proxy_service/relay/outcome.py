"""What an upstream attempt's result means: its usage outcome, whether another account may try, and
the `Failure` answered when none does.

Only failures that happen before any byte reached the client are retried (the caller guarantees
that): connect errors, timeouts, 429, 5xx, 401/403 (the account's credential was refused), and a
failure of the account's egress proxy (`proxy_error`: refused, dead, 407, a SOCKS refusal; the call
never falls back to a direct connection). Everything else goes back to the client as it is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import aiohttp

from services.proxy_service.formats import Bridge, ClientFormat
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse, error_response
from services.proxy_service.upstreams.guard import ADDRESS_REFUSED_CODE, address_refused
from shared.egress import PROXY_EXCEPTIONS, is_destination_failure, is_proxy_failure
from shared.errors import PoolGateError, UpstreamError

# Failures of the call itself (no usable answer); all are worth another account before the first byte.
RETRYABLE_EXCEPTIONS = (aiohttp.ClientError, TimeoutError, OSError, *PROXY_EXCEPTIONS)


def status_outcome(status: int) -> tuple[str, bool]:
    """(outcome, retryable) for an upstream HTTP status."""
    if 200 <= status < 300:
        return "success", False
    if status == 429:
        return "rate_limited", True
    if status >= 500:
        return "upstream_error", True
    if status in (401, 403):
        # The account's credential was refused, not the caller's: another account may well work.
        return "credential_rejected", True
    if status >= 400:
        return "client_error", False
    return "upstream_error", False


# Bodies that say the account's quota or credits are gone (not a passing rate limit): OpenAI's
# insufficient_quota, Kiro's monthly request count, Anthropic's credit balance.
_QUOTA_MARKERS = (b"insufficient_quota", b"MONTHLY_REQUEST_COUNT", b"credit balance is too low")


def answer_outcome(status: int, body: bytes) -> tuple[str, bool]:
    """Like `status_outcome`, but reads the body where the status alone is ambiguous."""
    if status == 402 or (status in (400, 403, 429) and any(m in body for m in _QUOTA_MARKERS)):
        return "exhausted", True
    return status_outcome(status)


def exception_outcome(exc: BaseException) -> str:
    if is_proxy_failure(exc):  # the account's egress proxy, not the upstream behind it
        return "proxy_error"
    if is_destination_failure(exc):  # the proxy worked; the upstream behind it could not be reached
        return "connect_error"
    # ConnectionTimeoutError is a TimeoutError too, but it means the host could not be reached.
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return "connect_error"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "upstream_error"


def is_retryable_exception(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE_EXCEPTIONS)


def exception_error(exc: BaseException) -> PoolGateError:
    """The client-facing error for an attempt that got no answer at all."""
    outcome = exception_outcome(exc)
    if outcome == "proxy_error":
        return UpstreamError("the account's egress proxy could not be used", code="egress_proxy_failed")
    if outcome == "timeout":
        return UpstreamError("the upstream did not answer in time", status_code=504)
    if outcome == "connect_error":
        if address_refused(exc):
            return UpstreamError(
                "the account's upstream address is on an internal network and private upstreams are"
                " not allowed",
                code=ADDRESS_REFUSED_CODE,
            )
        return UpstreamError("the upstream could not be reached")
    return UpstreamError("the upstream connection failed")


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        at = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, at - (time.time() if now is None else now))


class Failure:
    """A retryable attempt's result, answered as it is if no other account can take the call."""

    __slots__ = (
        "body",
        "bridge",
        "content_type",
        "error",
        "outcome",
        "retry_after",
        "retry_after_s",
        "status",
    )

    def __init__(
        self,
        *,
        status: int | None = None,
        body: bytes = b"",
        content_type: bytes | None = None,
        retry_after: str | None = None,
        retry_after_s: float | None = None,
        bridge: Bridge | None = None,
        error: PoolGateError | None = None,
        outcome: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.retry_after = retry_after  # the upstream's header, passed on to the client as it is
        self.retry_after_s = retry_after_s  # the same, in seconds (also from `retry-after-ms`)
        self.bridge = bridge
        self.error = error
        self.outcome = outcome  # the attempt's usage outcome; None when no upstream was asked

    def response(self, fmt: ClientFormat) -> RawResponse:
        if self.error is not None or self.status is None or self.bridge is None:
            return error_response(
                self.error or PoolGateError("upstream failed", status_code=502), fmt.error_style
            )
        body = self.bridge.error_body(self.body, self.status)
        # A converted body is JSON whatever the upstream sent (plain text, HTML).
        content_type = self.content_type if body is self.body else None
        headers = [(b"content-type", content_type) if content_type else JSON_CONTENT_TYPE]
        if self.retry_after:
            headers.append((b"retry-after", self.retry_after.encode("latin-1")))
        return RawResponse(body, self.status, headers)
