"""An OpenAI SSE stream as a Claude SSE stream: the state machine of conversion.md §2.4.

`message_start` goes out as soon as the upstream answered. Within a chunk: reasoning, then text,
then tool calls (`_tools.py`), then the finish reason. Blocks get contiguous indices, one open at a
time, and a delta only ever targets the open block (`_blocks.py`).

The finish reason closes the blocks; `message_delta` and `message_stop` wait for the usage chunk
when usage was requested, and never come without a real end: a finish reason, `[DONE]`, or EOF
after a finish. An upstream error chunk, a malformed `tool_calls`, or EOF before any of those, ends
with an `error` event.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats import claude_events as ev
from services.proxy_service.formats.client_format import CLAUDE
from services.proxy_service.formats.errors import claude_error
from services.proxy_service.formats.openai_to_claude._blocks import TEXT, THINKING, Blocks
from services.proxy_service.formats.openai_to_claude._tools import ToolCalls
from services.proxy_service.formats.reasoning import reasoning_signature, reasoning_text
from services.proxy_service.formats.sse import DONE, LineTooLong, SseDataReader
from services.proxy_service.formats.stop_reason import claude_stop_reason
from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.formats.usage_conversion import claude_usage

_loads = orjson.loads
_ZERO_USAGE = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


class OpenAIToClaudeStream:
    __slots__ = (
        "_await_usage",
        "_blocks",
        "_final_usage",
        "_finish",
        "_finished",
        "_message_id",
        "_model",
        "_reader",
        "_started",
        "_thinking",
        "_tools",
        "_usage",
        "ended",
        "failed",
    )

    def __init__(
        self,
        *,
        model: str,
        message_id: str,
        names: ToolNameMap,
        thinking: bool = True,
        await_usage: bool = False,
    ) -> None:
        """`thinking`: pass reasoning on as thinking blocks; `await_usage`: usage was requested
        (`stream_options.include_usage`), so the end waits for the usage chunk after the finish."""
        self._reader = SseDataReader()
        self._model = model
        self._message_id = message_id
        self._thinking = thinking
        self._await_usage = await_usage
        self._blocks = Blocks()
        self._tools = ToolCalls(self._blocks, message_id=message_id, names=names)
        self._started = False
        self._finish: Any = None
        self._finished = False
        self._usage: Any = None
        self._final_usage = False
        self.ended = False
        self.failed = False

    def start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return ev.message_start(self._message_id, self._model, dict(_ZERO_USAGE))

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        self._blocks.out = out = [self.start()]
        try:
            payloads = self._reader.feed(chunk)
        except LineTooLong as exc:
            payloads = []
            self._fail("api_error", str(exc))
        for payload in payloads:
            self._payload(payload)
            if self.ended:
                break
        return b"".join(out)

    def end(self) -> bytes:
        """At upstream EOF: finish normally only after a finish reason, else report the break."""
        if self.ended:
            return b""
        self._blocks.out = out = [self.start()]
        for payload in self._reader.flush():
            self._payload(payload)
        if not self.ended:
            if self._finished:
                self._complete()
            else:
                self._tools.close()
                out.append(CLAUDE.stream_error)
                self.ended = self.failed = True
        return b"".join(out)

    def _payload(self, payload: bytes) -> None:
        if payload == DONE:
            self._complete()
            return
        try:
            data = _loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(data, dict):
            return
        if data.get("error"):
            self._fail(*claude_error(None, data["error"]))
            return
        choices = data.get("choices")
        if choices and isinstance(choices, list) and isinstance(choices[0], dict):
            self._choice(choices[0])
            if self.ended:
                return
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
            self._final_usage = self._finished
        if self._finished and (self._final_usage or not self._await_usage):
            self._complete()

    def _choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            blocks = self._blocks
            if self._thinking:
                reasoning = reasoning_text(delta)
                if reasoning:
                    self._block_for(THINKING, ev.thinking_start)
                    blocks.out.append(ev.thinking_delta(blocks.open, reasoning))
                if blocks.kind == THINKING and "reasoning_details" in delta:
                    signature = reasoning_signature(delta)
                    if signature:
                        blocks.out.append(ev.signature_delta(blocks.open, signature))
            content = delta.get("content")
            if content and isinstance(content, str):
                self._block_for(TEXT, ev.text_start)
                blocks.out.append(ev.text_delta(blocks.open, content))
            calls = delta.get("tool_calls")
            if calls and isinstance(calls, list):  # an empty list is no tool call (vLLM)
                self._tools.feed(calls)
            elif calls:  # as in a whole answer (`_response.py`): malformed, not silently dropped
                kind = type(calls).__name__
                self._fail(
                    "api_error", f"malformed upstream answer: `delta.tool_calls` is {kind}, not an array"
                )
                return
        finish = choice.get("finish_reason")
        if finish:
            if finish == "error":  # OpenRouter: the provider failed mid-answer
                self._fail(*claude_error(None, choice.get("error") or "the upstream reported an error"))
                return
            self._tools.settle()
            self._finish = finish
            self._finished = True

    def _block_for(self, kind: int, frame: Any) -> None:
        if self._blocks.kind != kind:
            self._tools.settle()
            self._blocks.start(kind, frame)

    def _complete(self) -> None:
        if self.ended:
            return
        self._tools.settle()
        stop_reason = claude_stop_reason(self._finish, used_tools=self._tools.used)
        self._blocks.out.append(ev.message_delta(stop_reason, claude_usage(self._usage)))
        self._blocks.out.append(ev.MESSAGE_STOP)
        self.ended = True

    def _fail(self, error_type: str, message: str) -> None:
        self._tools.close()
        self._blocks.out.append(ev.error(error_type, message))
        self.ended = self.failed = True
