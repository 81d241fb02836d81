"""The converting bridges: a client of one API served by an account of the other.

Each is made per upstream attempt and keeps what the answer needs from the request: the tool
names that had to change, whether the client wants thinking shown or usage reported, and the
stream converter's state. The client's model name is the one every answer carries.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from services.proxy_service.formats import claude_to_openai, openai_to_claude
from services.proxy_service.formats.errors import claude_error_body, openai_error_body
from services.proxy_service.formats.failures import FailedAnswer, MalformedAnswer
from services.proxy_service.formats.ids import new_message_id
from services.proxy_service.formats.providers import Provider
from services.proxy_service.formats.reasoning import claude_thinking
from services.proxy_service.formats.tool_names import ToolNameMap


def _bad_gateway(malformed: MalformedAnswer) -> FailedAnswer:
    """The upstream's answer as the 502 it amounts to, in the upstream's own (OpenAI) error shape."""
    message = f"the upstream's answer is malformed: {malformed}"
    return FailedAnswer(502, orjson.dumps({"error": {"message": message, "type": "upstream_error"}}))


class ClaudeClientToOpenAI:
    """A Claude client (`/v1/messages`) on an OpenAI-format account."""

    __slots__ = (
        "_client_model",
        "_names",
        "_provider",
        "_show_thinking",
        "_stream",
        "_upstream_model",
        "_wants_usage",
    )
    usage = None  # read from the upstream's bytes
    produced = None  # a chat answer produces no images or video
    stream_error = None  # SSE: the relay reads error events itself

    def __init__(self, client_model: str, upstream_model: str | None, provider: Provider) -> None:
        self._client_model = client_model
        self._upstream_model = upstream_model or client_model
        self._provider = provider
        self._names = ToolNameMap()
        self._show_thinking = True
        self._wants_usage = False
        self._stream: openai_to_claude.OpenAIToClaudeStream | None = None

    @property
    def rewrites(self) -> bool:
        return True

    @property
    def stream_failed(self) -> bool:
        return self._stream is not None and self._stream.failed

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes:
        request = claude_to_openai.convert_request(
            body, model=self._upstream_model, provider=self._provider, names=self._names
        )
        # Reasoning an upstream produces anyway is shown, unless the client turned thinking off.
        self._show_thinking = not claude_thinking(body).disabled
        self._wants_usage = "stream_options" in request
        return orjson.dumps(request)

    def response_body(self, raw: bytes, parsed: Any) -> bytes:
        if not isinstance(parsed, dict) or not isinstance(parsed.get("choices"), list):
            return raw
        try:
            message = openai_to_claude.convert_completion(
                parsed,
                model=self._client_model,
                message_id=new_message_id(),
                names=self._names,
                thinking=self._show_thinking,
            )
        except MalformedAnswer as malformed:
            raise _bad_gateway(malformed) from None
        return orjson.dumps(message)

    def _converter(self) -> openai_to_claude.OpenAIToClaudeStream:
        if self._stream is None:
            self._stream = openai_to_claude.OpenAIToClaudeStream(
                model=self._client_model,
                message_id=new_message_id(),
                names=self._names,
                thinking=self._show_thinking,
                await_usage=self._wants_usage,
            )
        return self._stream

    def stream_start(self) -> bytes:
        return self._converter().start()

    def stream_chunk(self, chunk: bytes) -> bytes:
        return self._converter().feed(chunk)

    def stream_end(self) -> bytes:
        return self._converter().end()

    def error_body(self, raw: bytes, status: int) -> bytes:
        return claude_error_body(status, raw)


class OpenAIClientToClaude:
    """An OpenAI client (`/v1/chat/completions`) on a Claude-format account."""

    __slots__ = ("_client_model", "_include_usage", "_stream", "_upstream_model")
    usage = None  # read from the upstream's bytes
    produced = None  # a chat answer produces no images or video
    stream_error = None  # SSE: the relay reads error events itself

    def __init__(self, client_model: str, upstream_model: str | None) -> None:
        self._client_model = client_model
        self._upstream_model = upstream_model or client_model
        self._include_usage = False
        self._stream: claude_to_openai.ClaudeToOpenAIStream | None = None

    @property
    def rewrites(self) -> bool:
        return True

    @property
    def stream_failed(self) -> bool:
        return self._stream is not None and self._stream.failed

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes:
        options = body.get("stream_options")
        self._include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return orjson.dumps(openai_to_claude.convert_request(body, model=self._upstream_model))

    def response_body(self, raw: bytes, parsed: Any) -> bytes:
        if not isinstance(parsed, dict) or parsed.get("type") != "message":
            return raw
        completion = claude_to_openai.convert_message(
            parsed, model=self._client_model, created=int(time.time())
        )
        return orjson.dumps(completion)

    def _converter(self) -> claude_to_openai.ClaudeToOpenAIStream:
        if self._stream is None:
            self._stream = claude_to_openai.ClaudeToOpenAIStream(
                model=self._client_model, created=int(time.time()), include_usage=self._include_usage
            )
        return self._stream

    def stream_start(self) -> bytes:
        return b""  # the first chunk carries the upstream's message id: it waits for message_start

    def stream_chunk(self, chunk: bytes) -> bytes:
        return self._converter().feed(chunk)

    def stream_end(self) -> bytes:
        return self._converter().end()

    def error_body(self, raw: bytes, status: int) -> bytes:
        return openai_error_body(status, raw)
