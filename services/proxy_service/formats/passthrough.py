"""The bridge for a client and an upstream that speak the same format.

Bytes pass through untouched; the only edits are the model name when the account overrides it
(the upstream gets the account's model, the client keeps seeing the model it asked for), and the
request clean-up some providers need (Microsoft Foundry), which leaves the bytes alone when it
finds nothing to remove.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

# Returns the cleaned request, or None when the request needs no change.
RequestCleaner = Callable[[dict[str, Any]], dict[str, Any] | None]


class Passthrough:
    __slots__ = ("_clean", "_client_model", "_stream_pairs", "_upstream_model")
    usage = None  # read from the relayed bytes
    produced = None  # a chat answer produces no images or video
    stream_error = None  # SSE: the relay reads error events itself

    def __init__(
        self, client_model: str, upstream_model: str | None, *, clean: RequestCleaner | None = None
    ) -> None:
        self._client_model = client_model
        self._upstream_model = upstream_model if upstream_model and upstream_model != client_model else None
        self._clean = clean
        self._stream_pairs: tuple[tuple[bytes, bytes], ...] = ()
        if self._upstream_model is not None:
            upstream, client = orjson.dumps(self._upstream_model), orjson.dumps(client_model)
            self._stream_pairs = (
                (b'"model":' + upstream, b'"model":' + client),
                (b'"model": ' + upstream, b'"model": ' + client),
            )

    @property
    def rewrites(self) -> bool:
        return self._upstream_model is not None

    @property
    def stream_failed(self) -> bool:
        return False  # bytes are relayed, not read: only the relay itself sees a break

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes:
        cleaned = self._clean(body) if self._clean is not None else None
        if self._upstream_model is None:
            return raw if cleaned is None else orjson.dumps(cleaned)
        return orjson.dumps({**(cleaned or body), "model": self._upstream_model})

    def response_body(self, raw: bytes, parsed: Any) -> bytes:
        """A successful non-streaming answer; `parsed` is the decoded JSON or None."""
        if self._upstream_model is None or not isinstance(parsed, dict) or "model" not in parsed:
            return raw
        parsed["model"] = self._client_model
        return orjson.dumps(parsed)

    def stream_start(self) -> bytes:
        return b""

    def stream_chunk(self, chunk: bytes) -> bytes:
        for old, new in self._stream_pairs:
            chunk = chunk.replace(old, new)
        return chunk

    def stream_end(self) -> bytes:
        return b""

    def error_body(self, raw: bytes, status: int) -> bytes:
        return raw
