"""Successful upstream answers that are failures after all."""

from __future__ import annotations


class FailedAnswer(Exception):
    """A 2xx answer that carried an error (Kiro reports some inside its event stream, jimeng-api all of
    them): handled as if the upstream had answered `status` with the error body `raw`, in its own
    format. `verdict` (outcome, retryable) overrides what the status alone would say, and
    `upstream_code` is the upstream's own code for it (jimeng-api's envelope `code`)."""

    def __init__(
        self,
        status: int,
        raw: bytes,
        *,
        verdict: tuple[str, bool] | None = None,
        upstream_code: int | None = None,
    ) -> None:
        super().__init__(f"upstream answer failed with {status}")
        self.status = status
        self.raw = raw
        self.verdict = verdict
        self.upstream_code = upstream_code


class MalformedAnswer(ValueError):
    """Raised by a converter for a 2xx answer whose shape it cannot convert (say `tool_calls` that
    is not a list). The bridge turns it into a `FailedAnswer` 502, so the attempt fails over like on
    any other upstream error, and the client never sees a half-converted answer."""
