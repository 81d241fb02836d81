"""The bridge for a Kiro account, whichever API the client speaks.

The request goes canonical first (an OpenAI client's request is converted to the Anthropic shape),
then to Kiro's body. The answer is always an event stream; `KiroEvents` turns it into the client's
stream, or into one whole message when the client did not ask to stream.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from services.proxy_service.formats import (
    FailedAnswer,
    UnsupportedConversion,
    claude_to_openai,
    openai_to_claude,
)
from services.proxy_service.formats.client_format import OPENAI, ClientFormat
from services.proxy_service.formats.errors import claude_error_body, openai_error_body
from services.proxy_service.formats.ids import new_completion_id, new_message_id
from services.proxy_service.formats.reasoning import claude_thinking
from services.proxy_service.formats.tokens import estimate_request_tokens
from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.upstreams.kiro.events import KiroEvents, Writer
from services.proxy_service.upstreams.kiro.request import UnknownKiroModel, build_payload
from services.proxy_service.upstreams.kiro.writers import ClaudeSse, MessageCollector, OpenAIChunks
from shared.kiro_models import context_window

# Kiro error reasons that mean the prompt does not fit: the client must shorten it, not retry.
_TOO_LONG = ("CONTENT_LENGTH_EXCEEDS_THRESHOLD", "Input is too long")
_TOO_LONG_MESSAGE = "prompt is too long: the input exceeds the model's context window ({detail})"


class KiroBridge:
    __slots__ = (
        "_client",
        "_client_model",
        "_events",
        "_include_usage",
        "_input_tokens",
        "_names",
        "_profile_arn",
        "_thinking",
        "_writer",
    )

    def __init__(self, client: ClientFormat, client_model: str, *, profile_arn: str | None) -> None:
        self._client = client
        self._client_model = client_model
        self._profile_arn = profile_arn
        self._names = ToolNameMap()
        self._thinking = False
        self._include_usage = False
        self._input_tokens = 0
        self._events: KiroEvents | None = None
        self._writer: Any = None

    produced = None  # a chat answer produces no images or video

    @property
    def rewrites(self) -> bool:
        return True

    @property
    def stream_failed(self) -> bool:
        return self._events is not None and self._events.failed

    @property
    def stream_error(self) -> str | None:
        return None if self._events is None else self._events.failure

    @property
    def usage(self) -> tuple[int | None, int | None]:
        if self._events is None:
            return self._input_tokens, None
        return self._events.usage

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes:
        if self._client is OPENAI:
            options = body.get("stream_options")
            self._include_usage = isinstance(options, dict) and options.get("include_usage") is True
            body = openai_to_claude.convert_request(body, model=self._client_model)
        self._thinking = claude_thinking(body).on
        self._input_tokens = estimate_request_tokens(body)
        try:
            payload = build_payload(body, names=self._names, profile_arn=self._profile_arn)
        except UnknownKiroModel as exc:
            raise UnsupportedConversion(str(exc)) from exc
        return orjson.dumps(payload)

    def _stream(self, writer: Writer) -> KiroEvents:
        self._writer = writer
        self._events = KiroEvents(
            writer,
            names=self._names,
            thinking=self._thinking,
            input_tokens=self._input_tokens,
            window=context_window(self._client_model),
        )
        return self._events

    def _take(self) -> bytes:
        out = self._writer.out
        if not out:
            return b""
        self._writer.out = []
        return b"".join(out)

    def response_body(self, raw: bytes, parsed: Any) -> bytes:
        collector = MessageCollector(model=self._client_model, message_id=new_message_id())
        events = self._stream(collector)
        events.feed(raw)
        events.end()
        if collector.error is not None or collector.message is None:
            error_type, message = collector.error or ("api_error", "Kiro's answer was empty")
            status = 400 if error_type == "invalid_request_error" else 502
            raise FailedAnswer(status, orjson.dumps({"message": message, "reason": None}))
        if self._client is OPENAI:
            completion = claude_to_openai.convert_message(
                collector.message, model=self._client_model, created=int(time.time())
            )
            return orjson.dumps(completion)
        return orjson.dumps(collector.message)

    def stream_start(self) -> bytes:
        if self._client is OPENAI:
            writer: Writer = OpenAIChunks(
                model=self._client_model,
                created=int(time.time()),
                completion_id=new_completion_id(),
                include_usage=self._include_usage,
            )
        else:
            writer = ClaudeSse(model=self._client_model, message_id=new_message_id())
        self._stream(writer).start()
        return self._take()

    def stream_chunk(self, chunk: bytes) -> bytes:
        assert self._events is not None
        self._events.feed(chunk)
        return self._take()

    def stream_end(self) -> bytes:
        assert self._events is not None
        self._events.end()
        return self._take()

    def error_body(self, raw: bytes, status: int) -> bytes:
        """Kiro's `{"message", "reason"}` in the client's shape; a prompt too long is named so
        (Claude Code compacts on "prompt is too long"; OpenAI clients see context_length_exceeded)."""
        error = _kiro_error(raw)
        if (
            status == 400
            and not error["message"].startswith("prompt is too long")  # named so in the stream already
            and any(marker in f"{error['message']} {error['reason']}" for marker in _TOO_LONG)
        ):
            detail = error["reason"] or error["message"]
            error = {"message": _TOO_LONG_MESSAGE.format(detail=detail), "reason": None}
        message = error["message"] or f"Kiro answered HTTP {status}"
        if error["reason"] and error["reason"] not in message:
            message = f"{message} ({error['reason']})"
        body = orjson.dumps({"message": message})
        return openai_error_body(status, body) if self._client is OPENAI else claude_error_body(status, body)


def _kiro_error(raw: bytes) -> dict[str, str]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"message": raw.decode("utf-8", "replace").strip()[:1000], "reason": ""}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict):
        return {"message": str(body)[:1000], "reason": ""}
    message = body.get("message") or body.get("Message") or ""
    reason = body.get("reason") or ""
    return {"message": str(message)[:1000], "reason": str(reason)}
