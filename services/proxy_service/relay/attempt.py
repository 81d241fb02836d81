"""One upstream attempt's bookkeeping: its usage event, and what a failed one leaves behind."""

from __future__ import annotations

from services.proxy_service.formats import Bridge, ClientFormat
from services.proxy_service.metrics import count_attempt
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse, error_response
from services.proxy_service.usage import UsagePublisher
from shared.errors import PoolGateError
from shared.internal_client import Allocation
from shared.messages.contracts import UsageRecorded


class Attempt:
    __slots__ = ("allocation", "first_byte", "request", "started", "usage")

    def __init__(
        self, allocation: Allocation, request: ClientRequest, usage: UsagePublisher, started: float
    ) -> None:
        self.allocation = allocation
        self.request = request
        self.usage = usage
        self.started = started
        self.first_byte: float | None = None

    def record(
        self,
        outcome: str,
        status: int | None,
        ended: float,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Publish this attempt's `usage.recorded` (exactly once per attempt; it releases the lease)."""
        allocation = self.allocation
        first_byte = self.first_byte
        # Plain construction: pydantic-core validates these few typed fields faster than
        # model_construct copies them (measured: ~3.5 µs against ~7 µs).
        self.usage.record(
            UsageRecorded(
                lease_id=allocation.lease_id,
                account_id=allocation.account_id,
                api_key_id=allocation.api_key_id,
                user_id=allocation.user_id,
                model=self.request.model,
                capability="chat",
                status_code=status,
                outcome=outcome,
                latency_ms=(ended - self.started) * 1000,
                first_byte_ms=None if first_byte is None else (first_byte - self.started) * 1000,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                retry_after=retry_after,
                stream=self.request.stream,
            )
        )
        count_attempt(outcome)


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
