"""Reading server-sent events from an upstream byte stream, one network chunk at a time.

Chunks may split anywhere: inside a multi-byte UTF-8 character, inside `data:`, between the prefix
and its JSON. Lines are cut on `\\n` in bytes, and that byte never occurs inside a multi-byte
character, so nothing is decoded before its line is whole (orjson reads the bytes directly).

Both APIs put each event's JSON on a single `data:` line, so a payload is handed over as soon as its
line is complete rather than at the blank line that ends the event: some upstreams leave the blank
lines out. Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing a converter needs.
"""

from __future__ import annotations

# A line this long is not an event but a broken or hostile upstream; stop buffering it.
MAX_LINE_BYTES = 16 * 1024 * 1024

DONE = b"[DONE]"


class LineTooLong(ValueError):
    pass


class SseDataReader:
    """Fed raw chunks, returns the payloads of the `data:` lines they complete (stripped bytes)."""

    __slots__ = ("_parts", "_size")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk:
            if chunk:
                self._parts.append(chunk)
                self._size += len(chunk)
                if self._size > MAX_LINE_BYTES:
                    raise LineTooLong(f"an upstream SSE line exceeded {MAX_LINE_BYTES} bytes")
            return []
        if self._parts:
            self._parts.append(chunk)
            chunk = b"".join(self._parts)
            self._parts = []
        lines = chunk.split(b"\n")
        tail = lines.pop()
        self._size = len(tail)
        if tail:
            self._parts.append(tail)
        return [line[5:].strip() for line in lines if line[:5] == b"data:" and len(line) > 5]

    def flush(self) -> list[bytes]:
        """At the end of the stream: the payload of a last line that never got its newline."""
        line = b"".join(self._parts)
        self._parts = []
        self._size = 0
        payload = line[5:].strip() if line[:5] == b"data:" else b""
        return [payload] if payload else []
