"""A Claude SSE stream as OpenAI `chat.completion.chunk` events (conversion.md §2.6).

Text → `delta.content`; thinking → `delta.reasoning_content` (signatures have no counterpart);
tool_use blocks → `delta.tool_calls` numbered from 0 in the order the tools appear (whatever block
index they had), a tool that streamed no arguments gets `"{}"`; `message_delta` → the finish chunk;
`message_stop` → the usage chunk (when the client asked for `stream_options.include_usage`) and
`data: [DONE]`. An `error` event, or an end before `message_delta`, becomes an error chunk and no
[DONE]: the client must not mistake a broken answer for a finished one.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats.claude_to_openai._chunks import DONE, ChunkWriter
from services.proxy_service.formats.client_format import OPENAI
from services.proxy_service.formats.errors import openai_error
from services.proxy_service.formats.ids import new_completion_id
from services.proxy_service.formats.sse import LineTooLong, SseDataReader
from services.proxy_service.formats.stop_reason import openai_finish_reason

_dumps = orjson.dumps
_loads = orjson.loads

_TEXT, _THINKING, _TOOL = 1, 2, 3


class _Block:
    __slots__ = ("kind", "sent", "tool")

    def __init__(self, kind: int, tool: int = -1) -> None:
        self.kind = kind
        self.tool = tool  # the OpenAI tool_calls index
        self.sent = False  # arguments streamed


class ClaudeToOpenAIStream:
    __slots__ = (
        "_blocks",
        "_chunks",
        "_finished",
        "_include_usage",
        "_reader",
        "_tools",
        "_usage",
        "ended",
        "failed",
    )

    def __init__(self, *, model: str, created: int, include_usage: bool) -> None:
        self._reader = SseDataReader()
        self._chunks = ChunkWriter(model=model, created=created)
        self._include_usage = include_usage
        self._blocks: dict[int, _Block] = {}
        self._tools = 0
        self._usage: dict[str, Any] = {}
        self._finished = False
        self.ended = False
        self.failed = False

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        self._chunks.out = out = []
        try:
            payloads = self._reader.feed(chunk)
        except LineTooLong:
            payloads = []
            self._fail(None)
        for payload in payloads:
            self._event(payload)
            if self.ended:
                break
        return b"".join(out)

    def end(self) -> bytes:
        """At upstream EOF: a normal end only if the answer said why it stopped."""
        if self.ended:
            return b""
        self._chunks.out = out = []
        for payload in self._reader.flush():
            self._event(payload)
        if not self.ended:
            if self._finished:
                self._close()
            else:
                self._fail(None)
        return b"".join(out)

    def _event(self, payload: bytes) -> None:
        try:
            event = _loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        index = event.get("index")
        if not isinstance(index, int):
            index = -1  # matches no block
        if kind == "content_block_delta":
            block = self._blocks.get(index)
            delta = event.get("delta")
            if block is not None and isinstance(delta, dict):
                self._delta(block, delta)
        elif kind == "content_block_start":
            if index >= 0:
                self._start(index, event.get("content_block"))
        elif kind == "content_block_stop":
            block = self._blocks.pop(index, None)
            if block is not None and block.kind == _TOOL and not block.sent:
                self._chunks.arguments(block.tool, b'"{}"')
        elif kind == "message_start":
            self._message_start(event.get("message"))
        elif kind == "message_delta":
            self._message_delta(event)
        elif kind == "message_stop":
            if not self._finished:
                self._finished = True
                self._chunks.finish("stop")
            self._close()
        elif kind == "error":
            self._fail(event.get("error"))

    def _delta(self, block: _Block, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if text and isinstance(text, str):
                self._chunks.delta(b'{"content":%b}' % _dumps(text))
        elif kind == "input_json_delta":
            partial = delta.get("partial_json")
            if partial and isinstance(partial, str) and block.kind == _TOOL:
                block.sent = True
                self._chunks.arguments(block.tool, _dumps(partial))
        elif kind == "thinking_delta":
            text = delta.get("thinking")
            if text and isinstance(text, str):
                self._chunks.delta(b'{"reasoning_content":%b}' % _dumps(text))

    def _start(self, index: int, block: Any) -> None:
        if not isinstance(block, dict):
            return
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _Block(_TEXT)
            if block.get("text") and isinstance(block["text"], str):
                self._chunks.delta(b'{"content":%b}' % _dumps(block["text"]))
        elif kind == "thinking":
            self._blocks[index] = _Block(_THINKING)
            if block.get("thinking") and isinstance(block["thinking"], str):
                self._chunks.delta(b'{"reasoning_content":%b}' % _dumps(block["thinking"]))
        elif kind == "tool_use":
            state = self._blocks[index] = _Block(_TOOL, self._tools)
            self._tools += 1
            given = block.get("input")
            arguments = _dumps(given).decode() if isinstance(given, dict) and given else ""
            state.sent = bool(arguments)
            call = {
                "index": state.tool,
                "id": block.get("id") or "",
                "type": "function",
                "function": {"name": block.get("name") or "", "arguments": arguments},
            }
            self._chunks.delta(_dumps({"tool_calls": [call]}))
        # redacted_thinking, server tools and their results have no OpenAI counterpart

    def _message_start(self, message: Any) -> None:
        if not isinstance(message, dict):
            message = {}
        if isinstance(message.get("usage"), dict):
            self._usage.update(message["usage"])
        message_id = message.get("id")
        self._chunks.set_id(message_id if isinstance(message_id, str) and message_id else new_completion_id())
        self._chunks.first_delta()

    def _message_delta(self, event: dict[str, Any]) -> None:
        usage = event.get("usage")
        if isinstance(usage, dict):  # cumulative; some upstreams repeat the input counts here
            self._usage.update({k: v for k, v in usage.items() if v is not None})
        if not self._finished:
            self._finished = True
            delta = event.get("delta")
            self._chunks.finish(
                openai_finish_reason(delta.get("stop_reason") if isinstance(delta, dict) else None)
            )

    def _close(self) -> None:
        if self._include_usage:
            self._chunks.usage(self._usage)
        self._chunks.out.append(DONE)
        self.ended = True

    def _fail(self, error: Any) -> None:
        if error is None:
            self._chunks.out.append(OPENAI.stream_error)
        else:
            self._chunks.out.append(b"data: " + _dumps({"error": openai_error(None, error)}) + b"\n\n")
        self.ended = self.failed = True
