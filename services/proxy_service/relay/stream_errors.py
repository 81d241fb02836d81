"""Noticing an error event that an upstream sends after its SSE stream started (Anthropic's
`event: error` with `{"type":"error",...}`, OpenAI's `data: {"error": {...}}`), so the attempt is
recorded as the failure it was, with the error's redacted excerpt for the error rules.

The bytes are relayed untouched; the watch only looks at chunks that carry `"error"` (a quote inside
JSON text is escaped, so streamed text mentioning the word does not trigger it), so a healthy stream
costs one `in` per chunk. An event split over chunks is put together from the chunk before it.
"""

from __future__ import annotations

import orjson

_MARK = b'"error"'
_MAX_PENDING = 16384  # an error event longer than this is not an error event worth waiting for


class StreamErrorWatch:
    __slots__ = ("_last", "_pending", "found")

    def __init__(self) -> None:
        self._last = b""
        self._pending: bytes | None = None
        self.found: bytes | None = None  # the error event's data, once seen

    def feed(self, chunk: bytes) -> None:
        if self.found is not None:
            return
        if self._pending is None:
            if _MARK not in chunk:
                self._last = chunk
                return
            self._pending = self._last[self._last.rfind(b"\n") + 1 :] + chunk
        else:
            self._pending += chunk
        self._read(final=False)

    def end(self) -> None:
        """The stream ended: an event left without its closing blank line is read as it is."""
        if self.found is None and self._pending is not None:
            self._read(final=True)

    def _read(self, *, final: bool) -> None:
        pending = self._pending or b""
        blocks = pending.replace(b"\r\n", b"\n").split(b"\n\n")
        rest = b"" if final else blocks.pop()
        for block in blocks:
            data = _error_data(block)
            if data is not None:
                self.found = data
                self._pending = None
                return
        self._pending = rest if (_MARK in rest and len(rest) <= _MAX_PENDING) else None


def _error_data(block: bytes) -> bytes | None:
    if _MARK not in block and b"event: error" not in block:
        return None
    lines = block.split(b"\n")
    data = b"\n".join(line[5:].lstrip() for line in lines if line.startswith(b"data:"))
    if any(line.strip() == b"event: error" for line in lines):
        return data or block
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if isinstance(event, dict) and (event.get("type") == "error" or "error" in event):
        return data
    return None
