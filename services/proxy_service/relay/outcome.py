"""What an upstream attempt's result means: its usage outcome and whether another account may try.

Only failures that happen before any byte reached the client are retried (the caller guarantees
that): connect errors, timeouts, 429, 5xx, and 401/403 (the account's credential was refused).
Everything else goes back to the client as it is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import aiohttp

from shared.errors import PoolGateError, UpstreamError

# Failures of the call itself (no usable answer); all are worth another account before the first byte.
RETRYABLE_EXCEPTIONS = (aiohttp.ClientError, TimeoutError, OSError)


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
    if outcome == "timeout":
        return UpstreamError("the upstream did not answer in time", status_code=504)
    if outcome == "connect_error":
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
