"""The bridge for jimeng-api's answers. They are OpenAI-style already (`{created, data: [...]}`) and
pass through untouched; a failure envelope (HTTP 200, `{code, message, data: null}`) becomes the
`FailedAnswer` its code means (envelope.py), and an HTTP error (from a gateway in front of jimeng-api)
is put in OpenAI's error shape."""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats import FailedAnswer
from services.proxy_service.formats.errors import openai_error_body
from services.proxy_service.upstreams.dreamina import envelope


class JimengBridge:
    __slots__ = ("_capability", "_video_seconds", "produced")
    usage = (None, None)  # no tokens: the answer is not parsed for them
    rewrites = False
    stream_failed = False
    stream_error = None

    def __init__(self, capability: str, *, video_seconds: float | None) -> None:
        self._capability = capability
        self._video_seconds = video_seconds
        self.produced: dict[str, float] | None = None

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes:
        return raw

    def response_body(self, raw: bytes, parsed: Any) -> bytes:
        failure = envelope.read(raw)
        if failure is not None:
            code, message = failure
            verdict = envelope.classify(code, message)
            raise FailedAnswer(
                verdict.status, raw, verdict=(verdict.outcome, verdict.retryable), upstream_code=code
            )
        try:
            data = orjson.loads(raw).get("data")
        except (orjson.JSONDecodeError, AttributeError):
            data = None
        if not isinstance(data, list) or not data:
            message = b'{"message":"jimeng-api answered without any generated item"}'
            raise FailedAnswer(502, message, verdict=("upstream_error", True))
        if self._capability == "video":
            seconds = self._video_seconds
            self.produced = {"video_seconds": seconds * len(data)} if seconds is not None else None
        else:
            self.produced = {"images": len(data)}
        return raw

    def stream_start(self) -> bytes:  # never streamed
        return b""

    def stream_chunk(self, chunk: bytes) -> bytes:
        return chunk

    def stream_end(self) -> bytes:
        return b""

    def error_body(self, raw: bytes, status: int) -> bytes:
        failure = envelope.read(raw)
        if failure is not None:
            return envelope.openai_error(*failure)
        return openai_error_body(status, raw)
