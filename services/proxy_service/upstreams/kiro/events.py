"""Kiro's event stream as canonical (Anthropic-shaped) stream events (kiro.md §3.3–3.6).

`KiroEvents` decodes frames as they arrive and drives a `Writer` (the client's format) block by
block: text and thinking deltas as they come, each tool call as its own block whose input streams
as `input_json_delta` fragments (never held until the end), and one closing `finish`. An upstream
`exception`/`error` frame, a broken frame, or an end inside a tool call or a frame ends the stream
with `fail`, never with a made-up normal end.

Usage: the input tokens come from `contextUsageEvent` (a percentage of the model's window) or, when
Kiro sends none, from the request's estimate; output tokens are estimated from what was written.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from services.proxy_service.formats.tokens import estimate_text_tokens
from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.upstreams.kiro.eventstream import EventStreamDecoder, EventStreamError, Message
from services.proxy_service.upstreams.kiro.thinking import ThinkingSplitter

_loads = orjson.loads
_TEXT, _THINKING, _TOOL = 1, 2, 3
TOO_LONG_EXCEPTIONS = frozenset({"ContentLengthExceededException"})


class Writer(Protocol):
    def message_start(self, input_tokens: int) -> None: ...
    def text_start(self, index: int) -> None: ...
    def text(self, index: int, text: str) -> None: ...
    def thinking_start(self, index: int) -> None: ...
    def thinking(self, index: int, text: str) -> None: ...
    def signature(self, index: int, signature: str) -> None: ...
    def tool_start(self, index: int, tool_id: str, name: str) -> None: ...
    def tool_input(self, index: int, partial_json: str) -> None: ...
    def block_stop(self, index: int) -> None: ...
    def finish(self, stop_reason: str, usage: dict[str, int]) -> None: ...
    def fail(self, error_type: str, message: str) -> None: ...


class KiroEvents:
    __slots__ = (
        "_block",
        "_context_pct",
        "_decoder",
        "_index",
        "_input_tokens",
        "_names",
        "_open_kind",
        "_output",
        "_splitter",
        "_started",
        "_stopped_tools",
        "_tool_id",
        "_tools",
        "_truncated",
        "_usage",
        "_window",
        "_writer",
        "ended",
        "failed",
        "failure",
    )

    def __init__(
        self, writer: Writer, *, names: ToolNameMap, thinking: bool, input_tokens: int, window: int
    ) -> None:
        self._writer = writer
        self._names = names
        self._decoder = EventStreamDecoder()
        self._splitter = ThinkingSplitter(thinking)
        self._input_tokens = input_tokens
        self._window = window
        self._index = -1  # the open block's index (-1: none yet)
        self._open_kind = 0  # 0: no block open
        self._block = 0  # the next block's index
        self._tool_id = ""
        self._tools = 0
        self._stopped_tools: set[str] = set()
        self._output: list[str] = []  # what the model wrote, for the output-token estimate
        self._context_pct: float | None = None
        self._usage: dict[str, int] | None = None  # exact counts, when Kiro sends them
        self._truncated = False
        self._started = False
        self.ended = False
        self.failed = False
        self.failure: str | None = None  # what the failing frame said

    @property
    def usage(self) -> tuple[int, int]:
        if self._usage is not None:
            return self._usage["input_tokens"], self._usage["output_tokens"]
        input_tokens = self._input_tokens
        if self._context_pct:
            input_tokens = max(1, round(self._context_pct / 100 * self._window))
        return input_tokens, estimate_text_tokens("".join(self._output))

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._writer.message_start(self._input_tokens)

    def feed(self, data: bytes) -> None:
        if self.ended:
            return
        self.start()
        try:
            messages = self._decoder.feed(data)
        except EventStreamError as exc:
            self._fail("api_error", f"Kiro sent a broken event stream: {exc}")
            return
        for message in messages:
            self._message(message)
            if self.ended:
                return

    def end(self) -> None:
        """At the upstream's EOF: a normal end only when the answer is whole."""
        if self.ended:
            return
        self.start()
        if self._decoder.buffered:
            self._fail("api_error", "Kiro's stream ended inside a frame")
        elif self._open_kind == _TOOL:
            self._fail("api_error", "Kiro's stream ended inside a tool call")
        else:
            for thinking, text in self._splitter.flush():
                self._write(thinking, text)
            self._close_block()
            input_tokens, output_tokens = self.usage
            if self._tools:
                reason = "tool_use"
            elif self._truncated:
                reason = "max_tokens"
            elif self._context_pct is not None and self._context_pct >= 100:
                reason = "model_context_window_exceeded"
            else:
                reason = "end_turn"
            self._writer.finish(reason, {"input_tokens": input_tokens, "output_tokens": output_tokens})
            self.ended = True

    # --- frames ------------------------------------------------------------------------------------

    def _message(self, message: Message) -> None:
        kind = message.message_type
        if kind == "event":
            try:
                payload = _loads(message.payload) if message.payload else {}
            except orjson.JSONDecodeError:
                return
            if isinstance(payload, dict):
                self._event(message.event_type, payload)
        elif kind == "exception":
            name = message.exception_type or "exception"
            if name in TOO_LONG_EXCEPTIONS and self._block:
                self._truncated = True  # the answer was cut at Kiro's output limit
                return
            self._fail(*_exception_error(name, message.payload))
        elif kind == "error":
            self._fail(
                "api_error", f"Kiro error {message.error_code or ''}: {_text(message.payload)}".strip()
            )

    def _event(self, event_type: str | None, payload: dict[str, Any]) -> None:
        if event_type == "assistantResponseEvent":
            content = payload.get("content")
            if isinstance(content, str) and content:
                for thinking, text in self._splitter.feed(content):
                    self._write(thinking, text)
        elif event_type == "toolUseEvent":
            self._tool_event(payload)
        elif event_type == "reasoningContentEvent":
            text = payload.get("text")
            if isinstance(text, str) and text:
                self._write(True, text)
            signature = payload.get("signature")
            if isinstance(signature, str) and signature and self._open_kind == _THINKING:
                self._writer.signature(self._index, signature)
        elif event_type == "contextUsageEvent":
            pct = payload.get("contextUsagePercentage")
            if isinstance(pct, int | float) and not isinstance(pct, bool):
                self._context_pct = float(pct)
        elif event_type in ("messageMetadataEvent", "metadataEvent"):
            self._token_usage(payload)
        # initial-response, meteringEvent (credits), followupPromptEvent, web links: nothing to relay

    def _tool_event(self, payload: dict[str, Any]) -> None:
        tool_id = payload.get("toolUseId")
        if not isinstance(tool_id, str) or not tool_id or tool_id in self._stopped_tools:
            return
        if self._open_kind != _TOOL or tool_id != self._tool_id:
            name = payload.get("name")
            self._open(_TOOL)
            self._tool_id = tool_id
            self._tools += 1
            self._writer.tool_start(
                self._index, tool_id, self._names.client(name if isinstance(name, str) else "")
            )
        given = payload.get("input")
        if isinstance(given, dict):
            given = orjson.dumps(given).decode() if given else ""
        if isinstance(given, str) and given:
            self._output.append(given)
            self._writer.tool_input(self._index, given)
        if payload.get("stop") is True:
            self._stopped_tools.add(tool_id)
            self._close_block()

    def _token_usage(self, payload: dict[str, Any]) -> None:
        usage = payload.get("tokenUsage") if isinstance(payload.get("tokenUsage"), dict) else payload
        given = usage.get("uncachedInputTokens", usage.get("inputTokens"))
        output = usage.get("outputTokens")
        if isinstance(given, int) and isinstance(output, int):
            cached = usage.get("cacheReadInputTokens")
            total_input = given + (cached if isinstance(cached, int) else 0)
            self._usage = {"input_tokens": total_input, "output_tokens": output}

    # --- blocks ------------------------------------------------------------------------------------

    def _write(self, thinking: bool, text: str) -> None:
        kind = _THINKING if thinking else _TEXT
        if self._open_kind != kind:
            self._open(kind)
        self._output.append(text)
        if thinking:
            self._writer.thinking(self._index, text)
        else:
            self._writer.text(self._index, text)

    def _open(self, kind: int) -> None:
        self._close_block()
        self._index = self._block
        self._block += 1
        self._open_kind = kind
        if kind == _TEXT:
            self._writer.text_start(self._index)
        elif kind == _THINKING:
            self._writer.thinking_start(self._index)

    def _close_block(self) -> None:
        if self._open_kind:
            self._writer.block_stop(self._index)
            self._open_kind = 0

    def _fail(self, error_type: str, message: str) -> None:
        self._writer.fail(error_type, message)
        self.ended = self.failed = True
        self.failure = message


def _text(payload: bytes) -> str:
    try:
        body = _loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", "replace")[:500]
    if isinstance(body, dict):
        message = body.get("message") or body.get("Message")
        if isinstance(message, str):
            return message[:500]
    return payload.decode("utf-8", "replace")[:500]


def _exception_error(name: str, payload: bytes) -> tuple[str, str]:
    message = _text(payload)
    if name in TOO_LONG_EXCEPTIONS:
        # The words clients act on (Claude Code compacts; OpenAI's context_length_exceeded follows).
        return "invalid_request_error", (
            f"prompt is too long: the input exceeds the context window ({message})"
        )
    if "Throttling" in name:
        return "rate_limit_error", f"{name}: {message}"
    return "api_error", f"{name}: {message}"
