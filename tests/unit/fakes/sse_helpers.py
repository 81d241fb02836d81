"""Test helpers for reading raw SSE from the fakes."""

from __future__ import annotations


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE frame, exactly as sent."""
    frames = []
    for frame in text.split("\n\n"):
        if not frame:
            continue
        event = None
        data = []
        for line in frame.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        frames.append((event, "\n".join(data)))
    return frames


def _transport_errors() -> tuple[type[Exception], ...]:
    # Newer anthropic releases moved from httpx to httpx2; accept whichever the SDK raises.
    errors = []
    for name in ("httpx", "httpx2"):
        try:
            errors.append(__import__(name).HTTPError)
        except ImportError:
            pass
    return tuple(errors)


# What an SDK raises when the connection drops mid-body, besides its own APIError family.
TRANSPORT_ERRORS = _transport_errors()
