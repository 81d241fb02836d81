"""Successful upstream answers that are failures after all."""

from __future__ import annotations


class FailedAnswer(Exception):
    """A 2xx answer that carried an error (Kiro reports some inside its event stream): handled as
    if the upstream had answered `status` with the error body `raw`, in its own format."""

    def __init__(self, status: int, raw: bytes) -> None:
        super().__init__(f"upstream answer failed with {status}")
        self.status = status
        self.raw = raw


class MalformedAnswer(ValueError):
    """Raised by a converter for a 2xx answer whose shape it cannot convert (say `tool_calls` that
    is not a list). The bridge turns it into a `FailedAnswer` 502, so the attempt fails over like on
    any other upstream error, and the client never sees a half-converted answer."""
