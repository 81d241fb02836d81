"""The client-side ends of a Kiro answer: what `KiroEvents` drives (see its `Writer` protocol).

* `ClaudeSse`: Anthropic Messages stream events.
* `OpenAIChunks`: OpenAI `chat.completion.chunk` events, written straight from the canonical
  events (no Anthropic SSE produced and parsed again in between).
* `MessageCollector`: a whole Anthropic message, for calls that did not ask to stream.
Each writer appends bytes to `out`; the bridge takes them after each feed.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats import claude_events as ev
from services.proxy_service.formats.claude_to_openai._chunks import DONE, ChunkWriter
from services.proxy_service.formats.errors import openai_error
from services.proxy_service.formats.stop_reason import openai_finish_reason

_dumps = orjson.dumps
_ZERO_CACHE = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


class ClaudeSse:
    __slots__ = ("_message_id", "_model", "out")

    def __init__(self, *, model: str, message_id: str) -> None:
        self._model = model
        self._message_id = message_id
        self.out: list[bytes] = []

    def message_start(self, input_tokens: int) -> None:
        usage = {"input_tokens": input_tokens, "output_tokens": 0, **_ZERO_CACHE}
        self.out.append(ev.message_start(self._message_id, self._model, usage))

    def text_start(self, index: int) -> None:
        self.out.append(ev.text_start(index))

    def text(self, index: int, text: str) -> None:
        self.out.append(ev.text_delta(index, text))

    def thinking_start(self, index: int) -> None:
        self.out.append(ev.thinking_start(index))

    def thinking(self, index: int, text: str) -> None:
        self.out.append(ev.thinking_delta(index, text))

    def signature(self, index: int, signature: str) -> None:
        self.out.append(ev.signature_delta(index, signature))

    def tool_start(self, index: int, tool_id: str, name: str) -> None:
        self.out.append(ev.tool_start(index, tool_id, name))

    def tool_input(self, index: int, partial_json: str) -> None:
        self.out.append(ev.json_delta(index, partial_json))

    def block_stop(self, index: int) -> None:
        self.out.append(ev.block_stop(index))

    def finish(self, stop_reason: str, usage: dict[str, int]) -> None:
        self.out.append(ev.message_delta(stop_reason, usage))
        self.out.append(ev.MESSAGE_STOP)

    def fail(self, error_type: str, message: str) -> None:
        self.out.append(ev.error(error_type, message))


class OpenAIChunks:
    __slots__ = ("_chunks", "_include_usage", "_tool_index", "_tool_sent", "_tools")

    def __init__(self, *, model: str, created: int, completion_id: str, include_usage: bool) -> None:
        self._chunks = ChunkWriter(model=model, created=created)
        self._chunks.set_id(completion_id)
        self._include_usage = include_usage
        self._tools = 0
        self._tool_index = -1  # the open tool's tool_calls index
        self._tool_sent = False

    @property
    def out(self) -> list[bytes]:
        return self._chunks.out

    @out.setter
    def out(self, value: list[bytes]) -> None:
        self._chunks.out = value

    def message_start(self, input_tokens: int) -> None:
        self._chunks.first_delta()

    def text_start(self, index: int) -> None:
        pass

    def text(self, index: int, text: str) -> None:
        self._chunks.delta(b'{"content":%b}' % _dumps(text))

    def thinking_start(self, index: int) -> None:
        pass

    def thinking(self, index: int, text: str) -> None:
        self._chunks.delta(b'{"reasoning_content":%b}' % _dumps(text))

    def signature(self, index: int, signature: str) -> None:
        pass  # OpenAI has no place for it

    def tool_start(self, index: int, tool_id: str, name: str) -> None:
        self._tool_index = self._tools
        self._tools += 1
        self._tool_sent = False
        call = {
            "index": self._tool_index,
            "id": tool_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        self._chunks.delta(_dumps({"tool_calls": [call]}))

    def tool_input(self, index: int, partial_json: str) -> None:
        self._tool_sent = True
        self._chunks.arguments(self._tool_index, _dumps(partial_json))

    def block_stop(self, index: int) -> None:
        if self._tool_index >= 0:
            if not self._tool_sent:
                self._chunks.arguments(self._tool_index, b'"{}"')
            self._tool_index = -1

    def finish(self, stop_reason: str, usage: dict[str, int]) -> None:
        self._chunks.finish(openai_finish_reason(stop_reason))
        if self._include_usage:
            self._chunks.usage(usage)
        self._chunks.out.append(DONE)

    def fail(self, error_type: str, message: str) -> None:
        error = openai_error(None, {"type": error_type, "message": message})
        self._chunks.out.append(b"data: " + _dumps({"error": error}) + b"\n\n")


class MessageCollector:
    """A whole Anthropic message; `error` is set instead when the answer failed."""

    __slots__ = ("_json", "_message_id", "_model", "content", "error", "message", "out")

    def __init__(self, *, model: str, message_id: str) -> None:
        self._model = model
        self._message_id = message_id
        self.content: list[dict[str, Any]] = []
        self._json: dict[int, list[str]] = {}
        self.message: dict[str, Any] | None = None
        self.error: tuple[str, str] | None = None
        self.out: list[bytes] = []  # unused: the interface of the streaming writers

    def message_start(self, input_tokens: int) -> None:
        pass

    def text_start(self, index: int) -> None:
        self.content.append({"type": "text", "text": ""})

    def text(self, index: int, text: str) -> None:
        self.content[-1]["text"] += text

    def thinking_start(self, index: int) -> None:
        self.content.append({"type": "thinking", "thinking": "", "signature": ""})

    def thinking(self, index: int, text: str) -> None:
        self.content[-1]["thinking"] += text

    def signature(self, index: int, signature: str) -> None:
        self.content[-1]["signature"] += signature

    def tool_start(self, index: int, tool_id: str, name: str) -> None:
        self.content.append({"type": "tool_use", "id": tool_id, "name": name, "input": {}})
        self._json[len(self.content) - 1] = []

    def tool_input(self, index: int, partial_json: str) -> None:
        self._json[len(self.content) - 1].append(partial_json)

    def block_stop(self, index: int) -> None:
        parts = self._json.pop(len(self.content) - 1, None)
        if parts:
            try:
                given = orjson.loads("".join(parts))
            except orjson.JSONDecodeError:
                given = {}
            self.content[-1]["input"] = given if isinstance(given, dict) else {}

    def finish(self, stop_reason: str, usage: dict[str, int]) -> None:
        self.message = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": self.content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {**usage, **_ZERO_CACHE},
        }

    def fail(self, error_type: str, message: str) -> None:
        self.error = (error_type, message)
