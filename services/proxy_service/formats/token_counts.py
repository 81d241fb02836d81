"""Token counts read from upstream answers, in either format, as cheaply as possible.

OpenAI reports `usage.prompt_tokens` / `usage.completion_tokens` (streams: one final chunk, when
the client asked for `stream_options.include_usage`); Anthropic reports `usage.input_tokens` /
`usage.output_tokens` (streams: `message_start.message.usage` then cumulative
`message_delta.usage`). Streams are only parsed where a chunk mentions `"usage"`.
"""

from __future__ import annotations

from typing import Any

import orjson

_USAGE = b'"usage"'
_MAX_CARRY = 64 * 1024  # a longer unfinished line is content, not a usage line


def _tokens(usage: Any) -> tuple[int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None
    inp = usage.get("input_tokens")
    if inp is None:
        inp = usage.get("prompt_tokens")
    out = usage.get("output_tokens")
    if out is None:
        out = usage.get("completion_tokens")
    return (inp if isinstance(inp, int) else None), (out if isinstance(out, int) else None)


def usage_from_json(parsed: Any) -> tuple[int | None, int | None]:
    """(input_tokens, output_tokens) of a decoded non-streaming answer."""
    if not isinstance(parsed, dict):
        return None, None
    return _tokens(parsed.get("usage"))


class SseUsageScanner:
    """Fed every upstream chunk of an SSE stream; keeps the latest token counts seen."""

    __slots__ = ("_carry", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self._carry = b""
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def feed(self, chunk: bytes) -> None:
        if self._carry:
            chunk = self._carry + chunk
            self._carry = b""
        end = chunk.rfind(b"\n") + 1
        if end != len(chunk):
            # The last line is unfinished: keep it for the next chunk.
            tail = chunk[end:]
            self._carry = tail if len(tail) <= _MAX_CARRY else b""
            chunk = chunk[:end]
        if _USAGE in chunk:
            self._scan(chunk)

    def _scan(self, chunk: bytes) -> None:
        for line in chunk.split(b"\n"):
            if not line.startswith(b"data:") or _USAGE not in line or b'"usage":null' in line:
                continue
            try:
                event = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            if not isinstance(event, dict):
                continue
            usage = event.get("usage")
            if usage is None and isinstance(event.get("message"), dict):
                usage = event["message"].get("usage")  # Anthropic message_start
            inp, out = _tokens(usage)
            if inp is not None:
                self.input_tokens = inp
            if out is not None:
                self.output_tokens = out
